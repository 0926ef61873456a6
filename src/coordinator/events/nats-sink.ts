// Where the coordinator's journal publishes its events: core NATS, no wait per
// message. A publish that fails (the connection closing) is logged once per outage.
import type { NatsConnection } from "../../common/nats.js";
import type { Logger } from "../../common/logger.js";

export function natsEventSink(nc: Pick<NatsConnection, "publish">, log: Logger): (subject: string, json: string) => void {
  let failing = false;
  return (subject, json) => {
    try {
      nc.publish(subject, json);
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ err, subject }, "could not publish an event; events are lost until NATS takes them again");
      failing = true;
    }
  };
}
