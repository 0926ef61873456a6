// Transfer workers of one process: a puller per destination RSE, RSEs learnt
// by polling the catalog (new RSE → its consumer is made and pulled; changed
// transfer_limit → the consumer's max_ack_pending follows). Any number of
// processes run these side by side; JetStream spreads the requests.
import { publishReplicaEvents } from "../replica-event-publish.js";
import { hostname } from "node:os";
import { jetstream, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { createLogger } from "../../common/logger.js";
import type { ReplicaEvent } from "../catalog/replica-registrar.js";
import type { TransferLedgerPort } from "../rules/index.js";
import { RsePuller } from "./rse-puller.js";
import { copyVerified } from "./s3-copy.js";
import { handleTransfer, type TransferHandlerContext, type TransferObserver } from "./transfer-handler.js";
import { TRANSFER_ACK_WAIT_MS, ensureTransferConsumer, ensureTransferStream, transferLimitOf } from "./transfer-stream.js";

/** What the workers need to know of an RSE (the catalog's Rse fits). */
export interface TransferRse {
  name: string;
  attributes: Record<string, string>;
}

export interface TransferWorkerOptions {
  /** Copies at once per destination RSE in this process (default 4). */
  concurrency?: number;
  /** Deliveries of a request before its failure is final (default 5). */
  maxTries?: number;
  /** Delay before the second try; doubles each try (default 5 s), up to maxBackoffMs (default 10 min). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Who holds a claim in the ledger (default host:pid). */
  workerId?: string;
  /** Receives replica events to publish (default: publishReplicaEvents). */
  onEvents?: (events: readonly ReplicaEvent[]) => void;
  /** How often the RSE list is read again (default 5 s). */
  rsePollMs?: number;
  /** Ledger claim lifetime: after a worker dies its request waits this long at most (default: the ack wait, 10 s). */
  claimTtlMs?: number;
  /** Redelivery delay when another worker holds the claim (default 2 s). */
  busyDelayMs?: number;
  /** How long stop() lets copies finish before aborting them (default 20 s). */
  stopGraceMs?: number;
  /** The copy itself (tests substitute a slower or failing one). */
  copy?: typeof copyVerified;
  /** Told of copies and tries (metrics). */
  observer?: TransferObserver;
}

export interface TransferWorkers {
  /** Reads the RSE list now (instead of at the next poll) and applies it. */
  refresh(): Promise<void>;
  /** Copies running in this process, per destination RSE. */
  running(): Record<string, number>;
  /** Stops pulling, lets copies finish for up to stopGraceMs, then aborts the rest (their requests go back to the queue). */
  stop(): Promise<void>;
}

export async function startTransferWorkers(
  nc: NatsConnection,
  ledger: TransferLedgerPort,
  rseSource: () => Promise<readonly TransferRse[]>,
  opts: TransferWorkerOptions = {},
): Promise<TransferWorkers> {
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}`;
  const log = createLogger("dbb-transfers", { worker: workerId });
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const publishEvents =
    opts.onEvents ??
((events: readonly ReplicaEvent[]) => publishReplicaEvents(nc, log, events));
  const ctx: TransferHandlerContext = {
    ledger,
    workerId,
    maxTries: Math.max(1, opts.maxTries ?? 5),
    backoffMs: opts.backoffMs ?? 5_000,
    maxBackoffMs: opts.maxBackoffMs ?? 10 * 60_000,
    // Renewed with each working(): a dead worker's claim lapses about when its message is redelivered.
    claimTtlMs: opts.claimTtlMs ?? TRANSFER_ACK_WAIT_MS,
    workingEveryMs: Math.floor(TRANSFER_ACK_WAIT_MS / 3),
    busyDelayMs: opts.busyDelayMs ?? 2_000,
    copy: opts.copy ?? copyVerified,
    publishEvents,
    log,
    observer: opts.observer,
  };
  const jsm: JetStreamManager = await ensureTransferStream(nc);
  const js = jetstream(nc);
  const abort = new AbortController();
  const pullers = new Map<string, RsePuller>();
  const limits = new Map<string, number>();
  let stopping = false;

  async function apply(): Promise<void> {
    const rses = await rseSource();
    const seen = new Set<string>();
    for (const rse of rses) {
      seen.add(rse.name);
      const limit = transferLimitOf(rse);
      try {
        if (limits.get(rse.name) !== limit) limits.set(rse.name, await ensureTransferConsumer(jsm, rse.name, limit));
      } catch (err) {
        log.warn({ rse: rse.name, err }, "could not set up the RSE's transfer consumer; will try again");
        continue;
      }
      if (!pullers.has(rse.name) && !stopping) {
        pullers.set(rse.name, new RsePuller(js, rse.name, concurrency, (m) => handleTransfer(m, rse.name, ctx, abort.signal), log));
      }
    }
    // An RSE that left the catalog gets no more copies from this process.
    for (const [name, puller] of pullers) {
      if (seen.has(name)) continue;
      pullers.delete(name);
      limits.delete(name);
      await puller.stopPulling();
      await puller.drained();
    }
  }

  // One refresh at a time: the poll and an explicit refresh() share a chain.
  let chain: Promise<void> = Promise.resolve();
  const refresh = (): Promise<void> => {
    const next = chain.then(apply);
    chain = next.catch((err: unknown) => log.warn({ err }, "could not refresh the RSE list"));
    return next;
  };
  await refresh().catch(() => undefined); // logged by the chain; the poll tries again
  const poll = setInterval(() => {
    refresh().catch(() => undefined); // logged by the chain
  }, opts.rsePollMs ?? 5_000);
  log.info({ concurrency, rses: [...pullers.keys()] }, "transfer workers started");

  let stopped: Promise<void> | undefined;
  return {
    refresh,
    running: () => Object.fromEntries([...pullers].map(([name, p]) => [name, p.running])),
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearInterval(poll);
        await chain;
        const all = [...pullers.values()];
        await Promise.all(all.map((p) => p.stopPulling()));
        const drained = Promise.all(all.map((p) => p.drained()));
        const grace = new Promise<"timeout">((r) => setTimeout(r, opts.stopGraceMs ?? 20_000, "timeout").unref());
        if ((await Promise.race([drained, grace])) === "timeout") {
          log.warn({ running: all.reduce((n, p) => n + p.running, 0) }, "aborting copies still running at stop");
          abort.abort(new Error("transfer workers stopping"));
        }
        await drained;
        log.info("transfer workers stopped");
      })();
      return stopped;
    },
  };
}
