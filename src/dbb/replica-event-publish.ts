// Replica events after the catalog write: on dbb.event.replica (the
// coordinator's locality feed) and on orrery.events.replica.<rse> (the
// operator's event stream, orrery-events.ts). Core NATS: no wait, no throw.
import type { NatsConnection } from "../common/nats.js";
import type { Logger } from "../common/logger.js";
import type { ReplicaStateEvent } from "../common/orrery-events.js";
import { Subjects } from "../common/subjects.js";
import type { ReplicaEvent } from "./catalog/replica-registrar.js";

export function publishReplicaEvents(nc: Pick<NatsConnection, "publish">, log: Logger, events: readonly ReplicaEvent[]): void {
  const ts = Date.now();
  for (const e of events) {
    try {
      nc.publish(Subjects.replicaEvents, JSON.stringify(e));
      const event: ReplicaStateEvent = { kind: "replica", did: e.did, rse: e.rse, state: e.state, ts };
      nc.publish(Subjects.replicaEvent(e.rse), JSON.stringify(event));
    } catch (err) {
      log.warn({ ...e, err }, "could not publish replica event");
    }
  }
}
