// The dbb process: catalog over Redis, its NATS API and the JetStream
// consumer of replica registrations, with replica events on core NATS.
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../common/nats.js";
import { Subjects } from "../common/subjects.js";
import { createLogger } from "../common/logger.js";
import { Catalog, connectRedis } from "./catalog/catalog.js";
import { Judge, RuleEngine, TransferLedger, defineLockScripts, type TransferQueue } from "./rules/index.js";
import type { ReplicaEvent } from "./catalog/replica-registrar.js";
import { startDbbService, type DbbService } from "./api/dbb-service.js";
import { startReplicaConsumer, type ReplicaConsumer } from "./api/replica-consumer.js";
import { PolicyService } from "./policies/index.js";

export interface DbbOptions {
  natsUrl: string;
  redisUrl: string;
  /** How often the judge looks for expired and stuck rules (default 5 s). */
  judgeIntervalMs?: number;
  /** How long a lock stays STUCK before the repairer moves it (default 60 s). */
  repairDelayMs?: number;
}

export interface RunningDbb {
  close(): Promise<void>;
}

const log = createLogger("dbb");

export async function runDbb(opts: DbbOptions): Promise<RunningDbb> {
  const catalog = await Catalog.open(opts.redisUrl);
  const rulesRedis = defineLockScripts(await connectRedis(opts.redisUrl, "dbb-rules"));
  let judge: Judge | undefined;
  let nc: NatsConnection | undefined;
  let service: DbbService | undefined;
  let consumer: ReplicaConsumer | undefined;
  let policies: PolicyService | undefined;
  let closing: Promise<void> | undefined;

  const close = () => {
    closing ??= (async () => {
      // Stop taking work, finish what is in flight, then let the connections go.
      await Promise.allSettled([service?.stop(), consumer?.stop(), judge?.stop()]);
      await policies?.stop();
      if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
      await Promise.allSettled([catalog.close(), rulesRedis.quit()]);
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
    // TODO(transfers): the JetStream publisher replaces this.
    const queue: TransferQueue = { enqueue: () => Promise.resolve() };
    const rses = () => catalog.listRses();
    const engine = new RuleEngine(rulesRedis, queue, rses);
    const ledger = new TransferLedger(rulesRedis, queue, rses);
    judge = new Judge(rulesRedis, engine, ledger, queue, rses, { intervalMs: opts.judgeIntervalMs ?? 5000, repairDelayMs: opts.repairDelayMs ?? 60_000 });
    await judge.recover();
    judge.start();
    const subscriptions = new PolicyService(rulesRedis, queue, rses);
    policies = subscriptions;
    subscriptions.start();
    service = await startDbbService(conn, catalog, engine, publishEvents, subscriptions);
    consumer = await startReplicaConsumer(conn, catalog, publishEvents, (created) => subscriptions.enqueueNew(created));
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ nats: opts.natsUrl }, "dbb ready");
  return { close };
}
