// The TransferQueue over JetStream: each request is one message on
// `dbb.transfer.<rse>` with Nats-Msg-Id `<rse>:<did>:<gen>`, so enqueueing a
// request again (a retried rule evaluation, a second dbb process) within the
// duplicate window stores it once. Publishes are pipelined: a rule over
// 100,000 files must not wait 100,000 round trips.
import { jetstream, type JetStreamClient, type PubAck } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { Streams, Subjects } from "../../common/subjects.js";
import { checkRseName } from "../catalog/keys.js";
import type { TransferQueue, TransferRequest } from "./ledger-port.js";
import { ensureTransferStream, transferMsgId } from "./transfer-stream.js";

export interface TransferPublisherOptions {
  /** Publishes awaiting their ack at once (default 512). */
  window?: number;
  /** How long one publish may wait for its ack (default 30 s). */
  ackTimeoutMs?: number;
}

const encoder = new TextEncoder();

export class TransferPublisher implements TransferQueue {
  private readonly js: JetStreamClient;
  private readonly window: number;
  private readonly ackTimeoutMs: number;
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    opts: TransferPublisherOptions = {},
  ) {
    this.js = jetstream(nc);
    this.window = Math.max(1, opts.window ?? 512);
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

    let inFlight = 0;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const settle = () => {
      inFlight--;
      const w = wake;
      wake = undefined;
      w?.();
    };
    for (const r of requests) {
      if (failure !== undefined) break;
      while (inFlight >= this.window) await new Promise<void>((resolve) => (wake = resolve));
      inFlight++;
      this.publish(r).then(settle, (err: unknown) => {
        failure ??= err;
        settle();
      });
    }
    while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) {
      throw new OrreryError(ErrorCode.UNAVAILABLE, `JetStream did not take every transfer request: ${failure instanceof Error ? failure.message : String(failure)}`, {
        cause: failure,
        hint: "check nats-server (orrery local status); enqueueing again is safe, duplicates are dropped",
      });
    }
  }

  private async publish(r: TransferRequest): Promise<PubAck> {
    const body = encoder.encode(JSON.stringify({ rse: r.rse, did: r.did, gen: r.gen }));
    const ack = await this.js.publish(Subjects.transfer(r.rse), body, { msgID: transferMsgId(r), timeout: this.ackTimeoutMs });
    if (ack.stream !== Streams.transfers.name) {
      throw new Error(`subject ${Subjects.transfer(r.rse)} is stored by stream ${ack.stream}, not ${Streams.transfers.name}`);
    }
    return ack;
  }
}

/** Our own callers build requests, but a bad one would poison a subject: refuse it early. */
function checkRequest(r: TransferRequest): void {
  checkRseName(r.rse, "transfer request rse");
  if (typeof r.did !== "string" || r.did.indexOf(":") <= 0 || !Number.isSafeInteger(r.gen) || r.gen < 0) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `transfer request ${JSON.stringify(r)} is not {rse, did: "scope:name", gen ≥ 0}`);
  }
}
