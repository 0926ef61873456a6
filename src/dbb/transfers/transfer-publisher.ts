// The TransferQueue over JetStream: each request is one message on
// `dbb.transfer.<rse>` with Nats-Msg-Id `<rse>:<did>:<gen>`, so enqueueing a
// request again (a retried rule evaluation, a second dbb process) within the
// duplicate window stores it once. A rule over 100,000 files must not wait
// 100,000 round trips: publishes are pipelined (a bounded window awaiting its
// acks) with the acks on one wildcard inbox of our own — a JetStream publish
// per request (a timer and a mux entry each) was 2–3× slower.
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { Streams, Subjects } from "../../common/subjects.js";
import { checkRseName } from "../catalog/keys.js";
import type { TransferQueue, TransferRequest } from "../rules/index.js";
import { ensureTransferStream, transferMsgId } from "./transfer-stream.js";

export interface TransferPublisherOptions {
  /** Publishes awaiting their ack at once (default 1024). */
  window?: number;
  /** Fails the enqueue when no ack arrived for this long (default 30 s). */
  ackTimeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class TransferPublisher implements TransferQueue {
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    opts: TransferPublisherOptions = {},
  ) {
    this.window = Math.max(1, opts.window ?? 1024);
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 30_000;
  }

  /**
   * Resolves once JetStream stored every request (or already had it); rejects
   * with UNAVAILABLE on the first one it did not take. Safe to call again
   * with the same requests: duplicates are dropped by their message id.
   */
  async enqueue(requests: readonly TransferRequest[]): Promise<void> {
    if (requests.length === 0) return;
    for (const r of requests) checkRequest(r);
    // Stream creation is retried on the next call if it failed this time.
    this.ready ??= ensureTransferStream(this.nc).catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    await this.ready;

    const inbox = createInbox();
    let inFlight = 0;
    let failure: Error | undefined;
    let lastAck = Date.now();
    let wake: (() => void) | undefined;
    const wakeUp = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const waitForAck = () => new Promise<void>((resolve) => (wake = resolve));
    const fail = (err: Error) => {
      failure ??= err;
      wakeUp();
    };
    let sub: Subscription | undefined;
    const watchdog = setInterval(() => {
      if (inFlight > 0 && Date.now() - lastAck > this.ackTimeoutMs) fail(new Error(`no acknowledgement for ${this.ackTimeoutMs} ms`));
    }, Math.min(1000, this.ackTimeoutMs));
    try {
      sub = this.nc.subscribe(`${inbox}.*`, {
        callback: (err, m) => {
          if (err) return fail(err);
          const i = Number(m.subject.slice(inbox.length + 1));
          const problem = ackProblem(m);
          if (problem) fail(new Error(`${transferMsgId(requests[i] ?? { rse: "?", did: "?", gen: -1 })}: ${problem}`));
          inFlight--;
          lastAck = Date.now();
          wakeUp();
        },
      });
      for (const [i, r] of requests.entries()) {
        while (inFlight >= this.window && failure === undefined) await waitForAck();
        if (failure !== undefined) break;
        const h = headers();
        h.set("Nats-Msg-Id", transferMsgId(r));
        inFlight++;
        this.nc.publish(Subjects.transfer(r.rse), encoder.encode(JSON.stringify({ rse: r.rse, did: r.did, gen: r.gen })), { reply: `${inbox}.${i}`, headers: h });
      }
      while (inFlight > 0 && failure === undefined) await waitForAck();
    } catch (err) {
      failure ??= err instanceof Error ? err : new Error(String(err));
    } finally {
      clearInterval(watchdog);
      sub?.unsubscribe();
    }
    if (failure !== undefined) {
      throw new OrreryError(ErrorCode.UNAVAILABLE, `JetStream did not take every transfer request: ${failure.message}`, {
        cause: failure,
        hint: "check nats-server (orrery local status); enqueueing again is safe, duplicates are dropped",
      });
    }
  }
}

/** Why a publish ack is not "stored in DBB_TRANSFERS" (undefined when it is). */
function ackProblem(m: Msg): string | undefined {
  if (m.headers?.hasError) return `NATS answered ${m.headers.code} ${m.headers.description}`;
  let ack: { stream?: unknown; error?: { description?: unknown } };
  try {
    ack = JSON.parse(decoder.decode(m.data)) as typeof ack;
  } catch {
    return "the acknowledgement is not JSON";
  }
  if (ack.error) return `JetStream refused it: ${String(ack.error.description)}`;
  if (ack.stream !== Streams.transfers.name) return `stored by stream ${String(ack.stream)}, not ${Streams.transfers.name}`;
  return undefined;
}

/** Our own callers build requests, but a bad one would poison a subject: refuse it early. */
function checkRequest(r: TransferRequest): void {
  checkRseName(r.rse, "transfer request rse");
  if (typeof r.did !== "string" || r.did.indexOf(":") <= 0 || !Number.isSafeInteger(r.gen) || r.gen < 0) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `transfer request ${JSON.stringify(r)} is not {rse, did: "scope:name", gen ≥ 0}`);
  }
}
