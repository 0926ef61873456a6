// What a manager handler changed, written to Redis in one go before the
// handler answers: quantum progress, identity records of quanta that
// succeeded (with their progress, in one transaction), campaign records.
import type { CoordinatorStore } from "../store/redis-store.js";
import type { CampaignTable } from "./campaign-table.js";
import type { IdentityRecord, Quantum, QuantumProgress } from "./model.js";
import { identityRecord } from "./reuse.js";

export class ProgressJournal {
  private progress = new Map<string, Map<string, QuantumProgress>>();
  private identities = new Map<string, Map<string, IdentityRecord>>();
  private readonly campaigns = new Set<string>();

  constructor(
    private readonly store: CoordinatorStore,
    private readonly table: CampaignTable,
  ) {}

  /** The quantum's progress changed. */
  touch(q: Quantum): void {
    (this.progress.get(q.campaign) ?? this.progress.set(q.campaign, new Map()).get(q.campaign)!).set(q.id, q.progress);
  }

  /** The quantum succeeded: its identity now stands for its outputs. */
  succeeded(q: Quantum): void {
    this.touch(q);
    if (q.identity === undefined || q.identity === "") return;
    (this.identities.get(q.campaign) ?? this.identities.set(q.campaign, new Map()).get(q.campaign)!).set(q.identity, identityRecord(q));
  }

  /** The campaign's record (state, expanded tasks) changed. */
  touchCampaign(name: string): void {
    this.campaigns.add(name);
  }

  async flush(): Promise<void> {
    const progress = this.progress;
    const identities = this.identities;
    this.progress = new Map();
    this.identities = new Map();
    for (const campaign of new Set([...progress.keys(), ...identities.keys()])) {
      await this.store.saveProgress(campaign, progress.get(campaign) ?? new Map(), identities.get(campaign));
    }
    const names = [...this.campaigns];
    this.campaigns.clear();
    for (const name of names) {
      const c = this.table.campaigns.get(name);
      if (c) await this.store.updateCampaign(c);
    }
  }
}
