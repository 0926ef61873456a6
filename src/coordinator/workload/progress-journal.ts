// What a manager handler changed, written to Redis in one go before the
// handler answers: quantum progress, identity records of quanta that
// succeeded (with their progress, in one transaction), campaign records.
import type { QuantaStore } from "./quanta-store.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { IdentityRecord, QuantumProgress } from "./model.js";
import { identityRecord } from "./reuse.js";

export class ProgressJournal {
  /** Touched rows by campaign. */
  private rows = new Map<LiveCampaign, Set<number>>();
  private identities = new Map<LiveCampaign, Map<string, IdentityRecord>>();
  private readonly campaigns = new Set<string>();

  constructor(
    private readonly store: QuantaStore,
    private readonly table: CampaignTable,
  ) {}

  /** The quantum's progress changed. */
  touch(c: LiveCampaign, row: number): void {
    (this.rows.get(c) ?? this.rows.set(c, new Set()).get(c)!).add(row);
  }

  /** The quantum succeeded: its identity now stands for its outputs. */
  succeeded(c: LiveCampaign, row: number): void {
    this.touch(c, row);
    (this.identities.get(c) ?? this.identities.set(c, new Map()).get(c)!).set(c.rows.identity(row), identityRecord(c, row));
  }

  /** The campaign's record (state, expanded tasks) changed. */
  touchCampaign(name: string): void {
    this.campaigns.add(name);
  }

  async flush(): Promise<void> {
    const rows = this.rows;
    const identities = this.identities;
    this.rows = new Map();
    this.identities = new Map();
    for (const c of new Set([...rows.keys(), ...identities.keys()])) {
      const progress = new Map<string, QuantumProgress>();
      const touched = rows.get(c) ?? new Set<number>();
      for (const row of touched) progress.set(c.rows.id(row), c.rows.progress(row));
      await this.store.saveProgress(c.name, progress, identities.get(c));
      for (const row of touched) c.rows.dropFinishedRun(row);
    }
    const names = [...this.campaigns];
    this.campaigns.clear();
    for (const name of names) {
      const c = this.table.campaigns.get(name);
      if (c) await this.store.updateCampaign(c);
    }
  }
}
