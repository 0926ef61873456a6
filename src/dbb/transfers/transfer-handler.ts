// One transfer request from JetStream, start to finish: parse it (untrusted),
// claim it in the ledger, copy from the first source that works, report the
// outcome to the ledger, and only then ack, nak or terminate the message.
// Tries are JetStream deliveries (msg.info.deliveryCount): the consumer has no
// max_deliver, so the worker decides when a transfer has failed for good.
import type { JsMsg } from "@nats-io/jetstream";
import { z } from "../../common/zod.js";
import { ErrorCode, isOrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { RSE_NAME_PATTERN } from "../catalog/keys.js";
import type { ReplicaEvent } from "../catalog/replica-registrar.js";
import type { TransferLedgerPort, TransferRequest, TransferTask } from "../rules/index.js";
import type { copyVerified } from "./s3-copy.js";

/** Everything the handler needs, settled once per worker set (see transfer-worker.ts). */
export interface TransferHandlerContext {
  ledger: TransferLedgerPort;
  workerId: string;
  maxTries: number;
  backoffMs: number;
  maxBackoffMs: number;
  claimTtlMs: number;
  workingEveryMs: number;
  busyDelayMs: number;
  copy: typeof copyVerified;
  publishEvents: (events: readonly ReplicaEvent[]) => void;
  log: Logger;
  /** Told of each copy and each try's end (metrics). */
  observer?: TransferObserver | undefined;
}

/** What the workers tell the dbb's metrics. */
export interface TransferObserver {
  /** A copy made and verified, recorded in the ledger. */
  copied(sourceRse: string, destRse: string, bytes: number): void;
  /** A try ended: done, retry (failed, tried again later) or failed (for good: locks STUCK). */
  ended(state: "done" | "retry" | "failed"): void;
}

const MAX_REQUEST_BYTES = 16 * 1024;

const TransferRequestSchema = z.object({
  rse: z.string().regex(RSE_NAME_PATTERN),
  did: z
    .string()
    .max(4096)
    .refine((d) => d.indexOf(":") > 0 && d.indexOf(":") < d.length - 1, "not scope:name"),
  gen: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

/** The request in a message, or why it is not one. */
export function parseTransferRequest(data: Uint8Array, rse: string): TransferRequest | string {
  if (data.length > MAX_REQUEST_BYTES) return `${data.length} bytes, over ${MAX_REQUEST_BYTES}`;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return "not JSON";
  }
  const parsed = TransferRequestSchema.safeParse(json);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
  if (parsed.data.rse !== rse) return `rse ${parsed.data.rse} arrived on the subject of ${rse}`;
  return parsed.data;
}

/** Exponential backoff after the n-th try (n ≥ 1), with ±10 % jitter so retries spread out. */
export function backoffDelay(ctx: Pick<TransferHandlerContext, "backoffMs" | "maxBackoffMs">, tries: number): number {
  const base = Math.min(ctx.maxBackoffMs, ctx.backoffMs * 2 ** Math.min(30, Math.max(0, tries - 1)));
  return Math.round(base * (0.9 + Math.random() * 0.2));
}

export async function handleTransfer(msg: JsMsg, rse: string, ctx: TransferHandlerContext, signal: AbortSignal): Promise<void> {
  const parsed = parseTransferRequest(msg.data, rse);
  if (typeof parsed === "string") {
    ctx.log.error({ rse, seq: msg.seq, problem: parsed }, "terminated a message that is not a transfer request");
    msg.term(); // no reason text: nats-server before 2.10.4 ignores "+TERM <reason>"
    return;
  }
  const req = parsed;
  const log = ctx.log.child({ rse: req.rse, did: req.did, gen: req.gen, delivery: msg.info.deliveryCount });
  let claimed = false;
  // Keeps the message and the ledger claim ours for as long as we work on it (both expire sooner than a big copy).
  const keepAlive = setInterval(() => {
    try {
      msg.working();
    } catch (err) {
      // Connection closing: the message is redelivered after ack_wait, and the ledger keeps the copy once.
      log.warn({ err }, "could not extend the message's ack wait");
    }
    if (claimed) ctx.ledger.renew(req, ctx.workerId, ctx.claimTtlMs).catch((err: unknown) => log.warn({ err }, "could not renew the transfer claim"));
  }, ctx.workingEveryMs);
  try {
    let claim;
    try {
      claim = await ctx.ledger.claim(req, ctx.workerId, ctx.claimTtlMs);
    } catch (err) {
      log.warn({ err }, "could not claim the transfer; will retry");
      msg.nak(backoffDelay(ctx, 1));
      return;
    }
    switch (claim.kind) {
      case "done":
        // Already copied, superseded by a newer generation, or the rule is gone.
        msg.ack();
        return;
      case "busy":
        // Another worker holds the claim (this is a redelivery): look again later.
        msg.nak(ctx.busyDelayMs);
        return;
      case "task":
        claimed = true;
        await runTask(msg, req, claim.task, claim.task.tries, ctx, log.child({ try: claim.task.tries }), signal);
        return;
    }
  } finally {
    clearInterval(keepAlive);
  }
}

async function runTask(msg: JsMsg, req: TransferRequest, task: TransferTask, tries: number, ctx: TransferHandlerContext, log: Logger, signal: AbortSignal): Promise<void> {
  const problems: string[] = [];
  let copied: string | undefined;
  const t0 = Date.now();
  // A replica at the destination itself is no source for it.
  const sources = task.sources.filter((s) => s.rse !== task.rse);
  for (const source of sources) {
    if (signal.aborted) break;
    try {
      await ctx.copy(source, task.destination, task, { signal });
      copied = source.rse;
      log.info({ source: source.rse, bytes: Number(task.bytes), ms: Date.now() - t0 }, "copied and verified");
      break;
    } catch (err) {
      if (signal.aborted) break;
      const message = err instanceof Error ? err.message : String(err);
      problems.push(`from ${source.rse}: ${message}`);
      if (isOrreryError(err, ErrorCode.CHECKSUM_MISMATCH)) {
        // Rucio declares a source replica BAD when its bytes fail the checksum, and tries another.
        log.warn({ source: source.rse, err }, "source replica does not match the catalog; declaring it BAD");
        try {
          ctx.publishEvents(await ctx.ledger.declareBad(task.did, source.rse, message));
        } catch (declareErr) {
          log.error({ source: source.rse, err: declareErr }, "could not declare the source replica BAD");
        }
      } else {
        log.warn({ source: source.rse, err }, "copy failed");
      }
    }
  }
  if (sources.length === 0) problems.push("no AVAILABLE source replica");

  if (signal.aborted && copied === undefined) {
    // The worker is stopping: give the claim back and let another worker take the message now.
    await ctx.ledger.failed(req, ctx.workerId, "the transfer worker stopped", false).catch((err: unknown) => log.warn({ err }, "could not release the claim"));
    msg.nak();
    return;
  }
  if (copied !== undefined) {
    try {
      ctx.publishEvents(await ctx.ledger.completed(req, ctx.workerId));
      msg.ack();
      ctx.observer?.copied(copied, task.rse, Number(task.bytes));
      ctx.observer?.ended("done");
    } catch (err) {
      // The copy is in place but not recorded: the next delivery claims and copies again.
      log.warn({ err }, "could not record the completed transfer; will retry");
      msg.nak(backoffDelay(ctx, 1));
    }
    return;
  }
  const reason = problems.join("; ");
  const final = tries >= ctx.maxTries;
  try {
    await ctx.ledger.failed(req, ctx.workerId, reason, final);
  } catch (err) {
    log.warn({ err }, "could not record the failed try; will retry");
    msg.nak(backoffDelay(ctx, tries));
    return;
  }
  ctx.observer?.ended(final ? "failed" : "retry");
  if (final) {
    log.error({ reason }, `transfer failed ${tries} times; giving up (locks STUCK)`);
    msg.term();
  } else {
    const delay = backoffDelay(ctx, tries);
    log.warn({ reason, retryInMs: delay }, "transfer failed; will retry");
    msg.nak(delay);
  }
}
