// After a quantum's success is stored, the other replicas of its outputs go:
// an attempt declared lost may have registered them before it was cut off,
// at another RSE than the attempt that was taken. The DBB (replica.settle)
// makes every other unlocked replica of those files that the quantum
// produced obsolete, so each output keeps one AVAILABLE replica (the
// accepted attempt's, and those rules made). Asked outside the manager's
// mailbox, one quantum at a time; what fails (the DBB unreachable) is asked
// again at the next tick.
import type { Logger } from "../../common/logger.js";
import type { ProducedReplica } from "./model.js";
import type { QuantaStore } from "./quanta-store.js";

/** The DBB call; absent (tests without a DBB), nothing is settled. */
export type SettleOutputs = (producedBy: string, keep: readonly { did: string; rse: string }[]) => Promise<readonly { did: string; rse: string }[]>;

interface SettleJob {
  campaign: string;
  /** The accepted replicas; undefined: read from the quantum's stored progress. */
  kept: readonly ProducedReplica[] | undefined;
}

export class OutputSettler {
  private readonly pending = new Map<string, SettleJob>();
  private draining = false;

  constructor(
    private readonly settle: SettleOutputs | undefined,
    private readonly store: Pick<QuantaStore, "getProgress">,
    private readonly log: Logger,
  ) {}

  /** Settles the quantum's outputs (call once its success is stored). */
  add(campaign: string, quantum: string, kept: readonly ProducedReplica[] | undefined): void {
    if (!this.settle) return;
    this.pending.set(quantum, { campaign, kept });
    this.kick();
  }

  /** How many quanta wait to be settled. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Works through the waiting quanta unless that is under way. */
  kick(): void {
    if (this.draining || this.pending.size === 0) return;
    this.draining = true;
    this.drain()
      .catch((err: unknown) => this.log.warn({ err, waiting: this.pending.size }, "outputs of quanta not settled yet; asked again at the next tick"))
      .finally(() => (this.draining = false));
  }

  private async drain(): Promise<void> {
    for (const [quantum, job] of [...this.pending]) {
      const kept = job.kept ?? (await this.store.getProgress(job.campaign, [quantum])).get(quantum)?.produced ?? [];
      if (kept.length > 0) {
        const gone = await this.settle!(quantum, kept.map((k) => ({ did: k.did, rse: k.rse })));
        if (gone.length > 0) this.log.info({ quantum, obsolete: gone }, "replicas of another attempt's outputs made obsolete");
      }
      this.pending.delete(quantum);
    }
  }
}
