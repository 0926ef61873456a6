// The dbb process: catalog over Redis, its NATS API and the JetStream
// consumer of replica registrations, with replica events on core NATS.
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../common/nats.js";
import { Subjects } from "../common/subjects.js";
import { createLogger } from "../common/logger.js";
import { Catalog, type CollectionHooks } from "./catalog/catalog.js";
import type { ReplicaEvent } from "./catalog/replica-registrar.js";
import { startDbbService, type DbbService } from "./api/dbb-service.js";
import { startReplicaConsumer, type ReplicaConsumer } from "./api/replica-consumer.js";

export interface DbbOptions {
  natsUrl: string;
  redisUrl: string;
  /** Told of every change to a collection's contents (the rule engine's hook); none by default. */
  collectionHooks?: CollectionHooks;
}

export interface RunningDbb {
  close(): Promise<void>;
}

const log = createLogger("dbb");

export async function runDbb(opts: DbbOptions): Promise<RunningDbb> {
  const catalog = await Catalog.open(opts.redisUrl, opts.collectionHooks ?? {});
  let nc: NatsConnection | undefined;
  let service: DbbService | undefined;
  let consumer: ReplicaConsumer | undefined;
  let closing: Promise<void> | undefined;

  const close = () => {
    closing ??= (async () => {
      // Stop taking work, finish what is in flight, then let the connections go.
      await Promise.allSettled([service?.stop(), consumer?.stop()]);
      if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
      await catalog.close();
      log.info("dbb stopped");
    })();
    return closing;
  };

  try {
    nc = await connectNats(opts.natsUrl, "dbb");
    const conn = nc;
    const publishEvents = (events: readonly ReplicaEvent[]) => {
      for (const e of events) {
        try {
          conn.publish(Subjects.replicaEvents, JSON.stringify(e));
        } catch (err) {
          log.warn({ ...e, err }, "could not publish replica event");
        }
      }
    };
    service = await startDbbService(conn, catalog, publishEvents);
    consumer = await startReplicaConsumer(conn, catalog, publishEvents);
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ nats: opts.natsUrl }, "dbb ready");
  return { close };
}
