// Pulls one destination RSE's transfer requests with at most `concurrency`
// copies in flight in this process. It asks the server only for as many
// messages as it has free slots, so nothing waits in a client buffer with its
// ack_wait running, and the consumer's max_ack_pending (the RSE's
// transfer_limit) caps the copies of every worker process together.
import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "../../common/logger.js";
import { Streams } from "../../common/subjects.js";
import { transferConsumerName } from "./transfer-stream.js";

/** How long one pull waits on an empty queue before asking again. */
const PULL_EXPIRES_MS = 10_000;
const RETRY_PAUSE_MS = 2_000;

type PullerState = { kind: "running" } | { kind: "stopping" } | { kind: "stopped" };

export class RsePuller {
  private state: PullerState = { kind: "running" };
  private active = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private batch: ConsumerMessages | undefined;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(
    private readonly js: JetStreamClient,
    readonly rse: string,
    private readonly concurrency: number,
    private readonly handle: (msg: JsMsg) => Promise<void>,
    private readonly log: Logger,
  ) {
    this.loop = this.run().catch((err: unknown) => this.log.error({ rse, err }, "transfer puller stopped"));
  }

  /** Copies running now in this process for this RSE. */
  get running(): number {
    return this.active;
  }

  private async run(): Promise<void> {
    const name = transferConsumerName(this.rse);
    while (this.state.kind === "running") {
      try {
        const consumer = await this.js.consumers.get(Streams.transfers.name, name);
        while (this.state.kind === "running") {
          while (this.active >= this.concurrency && this.state.kind === "running") await new Promise<void>((r) => (this.wake = r));
          if (this.state.kind !== "running") break;
          const batch = await consumer.fetch({ max_messages: this.concurrency - this.active, expires: PULL_EXPIRES_MS });
          this.batch = batch;
          for await (const m of batch) this.dispatch(m);
          this.batch = undefined;
        }
      } catch (err) {
        if (this.state.kind !== "running") break;
        // Consumer deleted, NATS reconnecting…: pause and look the consumer up again.
        this.log.warn({ rse: this.rse, err }, "pulling transfer requests failed; retrying");
        await new Promise<void>((r) => {
          const t = setTimeout(r, RETRY_PAUSE_MS);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    }
  }

  private dispatch(m: JsMsg): void {
    if (this.state.kind !== "running") {
      // Arrived while stopping: hand it straight back for another worker.
      try {
        m.nak();
      } catch (err) {
        this.log.debug({ rse: this.rse, err }, "could not hand a message back; it is redelivered after ack_wait");
      }
      return;
    }
    this.active++;
    const p = this.handle(m)
      .catch((err: unknown) => {
        this.log.error({ rse: this.rse, seq: m.seq, err }, "transfer handler failed");
        try {
          m.nak(RETRY_PAUSE_MS);
        } catch {
          // Connection gone: JetStream redelivers after ack_wait anyway.
        }
      })
      .finally(() => {
        this.active--;
        this.inFlight.delete(p);
        const w = this.wake;
        this.wake = undefined;
        w?.();
      });
    this.inFlight.add(p);
  }

  /** Stops pulling (a pending pull is closed); the copies in flight go on. */
  async stopPulling(): Promise<void> {
    if (this.state.kind !== "running") return this.loop;
    this.state = { kind: "stopping" };
    const w = this.wake;
    this.wake = undefined;
    w?.();
    await this.batch?.close();
    await this.loop;
  }

  /** Resolves when every copy this puller started has been acked, nak'ed or terminated. */
  async drained(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.state = { kind: "stopped" };
  }
}
