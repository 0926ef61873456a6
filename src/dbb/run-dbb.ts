// The dbb process: catalog over Redis, its NATS API and the JetStream
// consumer of replica registrations, with replica events on core NATS; and
// transfer workers. `transfersOnly` runs the transfer workers alone (more
// copy capacity on other nodes, without a second catalog API).
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../common/nats.js";
import { Subjects } from "../common/subjects.js";
import { createLogger } from "../common/logger.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { Catalog } from "./catalog/catalog.js";
import type { ReplicaEvent } from "./catalog/replica-registrar.js";
import { startDbbService, type DbbService } from "./api/dbb-service.js";
import { startReplicaConsumer, type ReplicaConsumer } from "./api/replica-consumer.js";
import { startTransferWorkers, type TransferLedgerPort, type TransferWorkers } from "./transfers/index.js";

export interface DbbOptions {
  natsUrl: string;
  redisUrl: string;
  /** Only the transfer workers: no catalog API, no registration consumer. */
  transfersOnly?: boolean;
  /** Copies at once per destination RSE in this process; 0 runs no transfer workers (default 4). */
  transferWorkers?: number;
  /**
   * The transfer ledger. TEMPORARY: taken as an option until the Redis
   * TransferLedger of src/dbb/rules/ exists; see "TRANSFER LEDGER" below.
   */
  ledger?: TransferLedgerPort;
}

export interface RunningDbb {
  close(): Promise<void>;
}

const log = createLogger("dbb");

export async function runDbb(opts: DbbOptions): Promise<RunningDbb> {
  const transferWorkers = opts.transferWorkers ?? 4;
  if (opts.transfersOnly && transferWorkers < 1) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "--transfers-only with no transfer workers has nothing to do", { hint: "give --transfer-workers 1 or more" });
  }
  const catalog = await Catalog.open(opts.redisUrl);
  let nc: NatsConnection | undefined;
  let service: DbbService | undefined;
  let consumer: ReplicaConsumer | undefined;
  let transfers: TransferWorkers | undefined;
  let closing: Promise<void> | undefined;

  const close = () => {
    closing ??= (async () => {
      // Stop taking work, finish what is in flight, then let the connections go.
      await Promise.allSettled([service?.stop(), consumer?.stop(), transfers?.stop()]);
      if (nc && !nc.isClosed()) await nc.drain().catch(() => nc?.close());
      await catalog.close();
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

    // ── TRANSFER LEDGER (lead) ─────────────────────────────────────────────
    // Construct the Redis TransferLedger here (same Redis as the catalog) and
    // drop the `ledger` option. The rule engine's TransferQueue is
    // `new TransferPublisher(conn)` (from ./transfers/index.js).
    const ledger: TransferLedgerPort | undefined = opts.ledger;
    // ───────────────────────────────────────────────────────────────────────

    if (!opts.transfersOnly) {
      service = await startDbbService(conn, catalog, publishEvents);
      consumer = await startReplicaConsumer(conn, catalog, publishEvents);
    }
    if (transferWorkers > 0) {
      if (ledger) {
        transfers = await startTransferWorkers(conn, ledger, () => catalog.listRses(), { concurrency: transferWorkers, onEvents: publishEvents });
      } else if (opts.transfersOnly) {
        throw new OrreryError(ErrorCode.INTERNAL, "this dbb has no transfer ledger to run transfer workers against");
      } else {
        log.warn("no transfer ledger: transfer workers not started");
      }
    }
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ nats: opts.natsUrl, transfersOnly: opts.transfersOnly === true, transferWorkers }, "dbb ready");
  return { close };
}
