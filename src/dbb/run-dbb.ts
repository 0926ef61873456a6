// The dbb process: catalog over Redis, its NATS API and the JetStream
// consumer of replica registrations, with replica events on core NATS; and
// transfer workers. `transfersOnly` runs the transfer workers alone (more
// copy capacity on other nodes, without a second catalog API).
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../common/nats.js";
import { Subjects } from "../common/subjects.js";
import { createLogger } from "../common/logger.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { Catalog, connectRedis, type CollectionHooks } from "./catalog/catalog.js";
import { Judge, RuleEngine, TransferLedger, defineLockScripts } from "./rules/index.js";
import { Reaper, defineReaperScripts } from "./reaper/index.js";
import type { ReplicaEvent } from "./catalog/replica-registrar.js";
import { startDbbService, type DbbService } from "./api/dbb-service.js";
import { OutputSettlement } from "./reaper/index.js";
import { startReplicaConsumer, type ReplicaConsumer } from "./api/replica-consumer.js";
import { TransferPublisher, startTransferWorkers, type TransferWorkers } from "./transfers/index.js";
import { PolicyService } from "./policies/index.js";

export interface DbbOptions {
  natsUrl: string;
  redisUrl: string;
  /** How often the judge looks for expired and stuck rules (default 5 s). */
  judgeIntervalMs?: number;
  /** How long a lock stays STUCK before the repairer moves it (default 60 s). */
  repairDelayMs?: number;
  /** Also told of every change to a collection's contents, after the rule engine. */
  collectionHooks?: CollectionHooks;
  /** Only the transfer workers: no catalog API, no registration consumer, no judge. */
  transfersOnly?: boolean;
  /** Copies at once per destination RSE in this process; 0 runs no transfer workers (default 4). */
  transferWorkers?: number;
  /** Tries of a transfer before its locks are STUCK (default 5), and the first retry's delay (default 5 s, doubling). */
  transferTries?: number;
  transferBackoffMs?: number;
  /** host:port to serve /metrics and /healthz on; none: no HTTP. */
  metricsListen?: string;
  /** How often the reaper looks at each RSE's tombstones (default 10 s). */
  reaperIntervalMs?: number;
}

export interface RunningDbb {
  close(): Promise<void>;
  /** Resolves if a part the dbb cannot work without stops by itself (the replica consumer): the process should exit. */
  failed: Promise<Error>;
}

const log = createLogger("dbb");

export async function runDbb(opts: DbbOptions): Promise<RunningDbb> {
  const transferWorkers = opts.transferWorkers ?? 4;
  if (opts.transfersOnly && transferWorkers < 1) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "--transfers-only with no transfer workers has nothing to do", { hint: "give --transfer-workers 1 or more" });
  }
  // The rule engine is made once NATS is up; attaches before that have no rules to tell.
  let engine: RuleEngine | undefined;
  const hooks: CollectionHooks = {
    onAttached: async (parent, children) => {
      await engine?.onAttached(parent, children);
      await opts.collectionHooks?.onAttached?.(parent, children);
    },
    onDetached: async (parent, children) => {
      await engine?.onDetached(parent, children);
      await opts.collectionHooks?.onDetached?.(parent, children);
    },
  };
  const catalog = await Catalog.open(opts.redisUrl, hooks);
  const rulesRedis = defineLockScripts(await connectRedis(opts.redisUrl, "dbb-rules"));
  let judge: Judge | undefined;
  let reaper: Reaper | undefined;
  let nc: NatsConnection | undefined;
  let service: DbbService | undefined;
  let consumer: ReplicaConsumer | undefined;
  let transfers: TransferWorkers | undefined;
  let policies: PolicyService | undefined;
  let closing: Promise<void> | undefined;

  const close = () => {
    closing ??= (async () => {
      // Stop taking work, finish what is in flight, then let the connections go.
      await Promise.allSettled([service?.stop(), consumer?.stop(), judge?.stop(), reaper?.stop(), transfers?.stop()]);
      await policies?.stop();
      if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
      await Promise.allSettled([catalog.close(), rulesRedis.quit()]);
      log.info("dbb stopped");
    })();
    return closing;
  };

  try {
    nc = await connectNats(opts.natsUrl, opts.transfersOnly ? "dbb-transfers" : "dbb");
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

    const queue = new TransferPublisher(conn);
    const rses = () => catalog.listRses();
    const ledger = new TransferLedger(rulesRedis, queue, rses);
    if (!opts.transfersOnly) {
      engine = new RuleEngine(rulesRedis, queue, rses);
      judge = new Judge(rulesRedis, engine, ledger, queue, rses, { intervalMs: opts.judgeIntervalMs ?? 5000, repairDelayMs: opts.repairDelayMs ?? 60_000 });
      reaper = new Reaper(defineReaperScripts(rulesRedis), queue, rses, publishEvents, { intervalMs: opts.reaperIntervalMs ?? 10_000 });
      const subscriptions = new PolicyService(rulesRedis, queue, rses);
      policies = subscriptions;
      service = await startDbbService(conn, catalog, engine, publishEvents, ledger, subscriptions, new OutputSettlement(rulesRedis));
      consumer = await startReplicaConsumer(conn, catalog, publishEvents, (created) => subscriptions.enqueueNew(created));
    }
    if (transferWorkers > 0) {
      transfers = await startTransferWorkers(conn, ledger, rses, {
        concurrency: transferWorkers,
        onEvents: publishEvents,
        ...(opts.transferTries !== undefined ? { maxTries: opts.transferTries } : {}),
        ...(opts.transferBackoffMs !== undefined ? { backoffMs: opts.transferBackoffMs } : {}),
      });
    }
    // After the workers exist: requests a crash left unpublished go out again,
    // deletions a crash interrupted finish, new files a crash left get their subscriptions.
    if (judge && reaper && policies) {
      await judge.recover();
      judge.start();
      await reaper.recover();
      reaper.start();
      policies.start();
    }
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ nats: opts.natsUrl, transfersOnly: opts.transfersOnly === true, transferWorkers }, "dbb ready");
  return { close, failed: consumer?.failed ?? new Promise<Error>(() => undefined) };
}
