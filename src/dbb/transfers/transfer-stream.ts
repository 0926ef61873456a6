// Stream DBB_TRANSFERS and its consumers: one durable pull consumer per
// destination RSE, whose max_ack_pending is the cluster-wide limit of copies
// in flight to that RSE (Rucio's per-destination throttler, done by the server).
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { Streams, Subjects } from "../../common/subjects.js";

const log = createLogger("dbb-transfer-stream");

/** Copies in flight to an RSE without a `transfer_limit` attribute. */
export const DEFAULT_TRANSFER_LIMIT = 4;
/**
 * Redelivery after this long without an ack or `working()`: workers call
 * working() every third of it. Short, because with a transfer_limit of 1 a
 * dead worker's message holds its RSE's queue until it is redelivered.
 */
export const TRANSFER_ACK_WAIT_MS = 10_000;
/** A request published twice within this window (same Nats-Msg-Id) is stored once. */
export const TRANSFER_DUPLICATE_WINDOW_MS = 10 * 60_000;

export function transferConsumerName(rse: string): string {
  return `transfers-${rse}`;
}

/** The `<rse>:<did>:<gen>` id that makes a republished request a duplicate. */
export function transferMsgId(req: { rse: string; did: string; gen: number }): string {
  return `${req.rse}:${req.did}:${req.gen}`;
}

/**
 * The RSE attribute `transfer_limit` as a positive whole number, else the
 * default. A malformed value is an operator's typo: warn and use the default.
 */
export function transferLimitOf(rse: { name: string; attributes: Record<string, string> }): number {
  const raw = rse.attributes["transfer_limit"];
  if (raw === undefined || raw === "") return DEFAULT_TRANSFER_LIMIT;
  const n = Number(raw.trim());
  if (Number.isInteger(n) && n >= 1 && n <= 1_000_000) return n;
  log.warn({ rse: rse.name, transfer_limit: raw }, `transfer_limit is not a positive whole number; using ${DEFAULT_TRANSFER_LIMIT}`);
  return DEFAULT_TRANSFER_LIMIT;
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

function unavailable(what: string, err: unknown): OrreryError {
  return new OrreryError(ErrorCode.UNAVAILABLE, `cannot set up ${what} in JetStream: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
    hint: "run nats-server with JetStream enabled (-js) and check its log",
  });
}

/** Creates stream DBB_TRANSFERS when missing; an existing one is used as it is. */
export async function ensureTransferStream(nc: NatsConnection): Promise<JetStreamManager> {
  const name = Streams.transfers.name;
  try {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(name);
      return jsm;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    try {
      // Work-queue retention: a request leaves the stream when a worker acks or terminates it.
      await jsm.streams.add({
        name,
        subjects: [...Streams.transfers.subjects],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(TRANSFER_DUPLICATE_WINDOW_MS),
      });
      log.info({ stream: name }, "stream created");
    } catch (err) {
      // Another dbb process may have created it a moment ago.
      await jsm.streams.info(name).catch(() => Promise.reject(err));
    }
    return jsm;
  } catch (err) {
    throw unavailable(`stream ${name}`, err);
  }
}

function consumerConfig(rse: string, limit: number): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: transferConsumerName(rse),
    filter_subject: Subjects.transfer(rse),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(TRANSFER_ACK_WAIT_MS),
    // Tries are counted by the workers (claims in the ledger), which terminate after their maximum.
    max_deliver: -1,
    max_ack_pending: limit,
  };
}

/**
 * Creates the RSE's consumer when missing, or sets its max_ack_pending to
 * `limit` when that changed; resolves to the limit in force.
 */
export async function ensureTransferConsumer(jsm: JetStreamManager, rse: string, limit: number): Promise<number> {
  const stream = Streams.transfers.name;
  const name = transferConsumerName(rse);
  try {
    let current: number | undefined;
    try {
      current = (await jsm.consumers.info(stream, name)).config.max_ack_pending;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    }
    if (current === undefined) {
      try {
        await jsm.consumers.add(stream, consumerConfig(rse, limit));
        log.info({ stream, consumer: name, maxAckPending: limit }, "consumer created");
        return limit;
      } catch (err) {
        // Lost a race with another process: fall through to compare and update.
        current = (await jsm.consumers.info(stream, name).catch(() => Promise.reject(err))).config.max_ack_pending;
      }
    }
    if (current !== limit) {
      await jsm.consumers.update(stream, name, { max_ack_pending: limit });
      log.info({ stream, consumer: name, from: current, maxAckPending: limit }, "transfer limit changed");
    }
    return limit;
  } catch (err) {
    throw unavailable(`consumer ${name}`, err);
  }
}
