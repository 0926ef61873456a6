// What a manager handler changed, written to Redis in one transaction before
// the handler answers: quantum progress, identity records of quanta that
// succeeded, attempt records (logs, provenance), campaign records.
import type { AttemptRecords, ProgressWrite, QuantaStore } from "./quanta-store.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { IdentityRecord, QuantumProgress } from "./model.js";
import { identityRecord } from "./reuse.js";

export class ProgressJournal {
  /** Touched rows by campaign. */
  private rows = new Map<LiveCampaign, Set<number>>();
  private identities = new Map<LiveCampaign, Map<string, IdentityRecord>>();
  private readonly campaigns = new Set<string>();
  private attempts: AttemptRecords[] = [];

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

  /** An attempt ended: its logs and provenance go with the progress it changed. */
  attemptEnded(records: AttemptRecords): void {
    this.attempts.push(records);
  }

  /** The campaign's record (state, expanded tasks) changed. */
  touchCampaign(name: string): void {
    this.campaigns.add(name);
  }

  async flush(): Promise<void> {
    const rows = this.rows;
    const identities = this.identities;
    const attempts = this.attempts;
    this.rows = new Map();
    this.identities = new Map();
    this.attempts = [];
    const progress: ProgressWrite[] = [];
    for (const c of new Set([...rows.keys(), ...identities.keys()])) {
      const updates = new Map<string, QuantumProgress>();
      for (const row of rows.get(c) ?? []) updates.set(c.rows.id(row), c.rows.progress(row));
      progress.push({ campaign: c.name, updates, identities: identities.get(c) });
    }
    const campaigns = [...this.campaigns].flatMap((name) => this.table.campaigns.get(name) ?? []);
    this.campaigns.clear();
    await this.store.saveChanges({ progress, attempts, campaigns });
    for (const [c, touched] of rows) for (const row of touched) c.rows.dropFinishedRun(row);
  }
}
