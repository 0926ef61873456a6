// What the pre-stager has asked the DBB for, in memory only: per target site,
// the files it asked rules for (until the rule's lifetime ends, or until a
// failed request may be tried again), and the ready quanta it staged there
// whose files have not landed yet (they count against the site's budget).
// After a coordinator restart it starts empty: asking again is harmless, the
// DBB refuses a duplicate rule.
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";

interface FileRequest {
  /** When the request stops counting: the rule's end, or the retry time after a failure. */
  untilMs: number;
  failed: boolean;
}

interface StagedRow {
  site: number;
  sinceMs: number;
}

export class PrestageLedger {
  private readonly files = new Map<number, Map<number, FileRequest>>();
  /** Keyed by the campaign object: a campaign submitted again under the same name is another one. */
  private readonly rows = new Map<LiveCampaign, Map<number, StagedRow>>();
  private readonly inFlightBySite = new Map<number, number>();

  /** Whether a rule for the file at the site was asked for and still counts (or failed and waits to be tried again). */
  requested(site: number, file: number, nowMs: number): boolean {
    const r = this.files.get(site)?.get(file);
    return r !== undefined && r.untilMs > nowMs;
  }

  markRequested(site: number, file: number, untilMs: number): void {
    (this.files.get(site) ?? this.files.set(site, new Map()).get(site)!).set(file, { untilMs, failed: false });
  }

  /** The DBB refused or did not answer: the file may be asked for again at `retryMs`, and rows waiting for it stop counting. */
  markFailed(site: number, file: number, retryMs: number): void {
    (this.files.get(site) ?? this.files.set(site, new Map()).get(site)!).set(file, { untilMs: retryMs, failed: true });
  }

  stage(c: LiveCampaign, row: number, site: number, nowMs: number): void {
    const mine = this.rows.get(c) ?? this.rows.set(c, new Map()).get(c)!;
    const before = mine.get(row);
    if (before) this.count(before.site, -1);
    mine.set(row, { site, sinceMs: nowMs });
    this.count(site, 1);
  }

  isStaged(c: LiveCampaign, row: number): boolean {
    return this.rows.get(c)?.has(row) ?? false;
  }

  /** Quanta staged to a site whose files have not landed yet. */
  inFlight(site: number): number {
    return this.inFlightBySite.get(site) ?? 0;
  }

  get stagedQuanta(): number {
    let n = 0;
    for (const v of this.inFlightBySite.values()) n += v;
    return n;
  }

  get requestedFiles(): number {
    let n = 0;
    for (const m of this.files.values()) n += m.size;
    return n;
  }

  /**
   * Forgets staged rows that are done with: no longer READY (they ran, or
   * their campaign went), landed (now local to their site), waiting longer
   * than `timeoutMs` (no transfer came), or waiting for a request that
   * failed; and requests whose time is over.
   */
  prune(table: CampaignTable, nowMs: number, timeoutMs: number): void {
    for (const [c, mine] of this.rows) {
      const live = table.campaigns.get(c.name) === c;
      for (const [row, s] of mine) {
        const keep = live && c.ready.has(row) && (c.ready.sitesOf(row) & (1 << s.site)) === 0 && nowMs - s.sinceMs < timeoutMs && !this.anyFailed(c, row, s.site);
        if (keep) continue;
        mine.delete(row);
        this.count(s.site, -1);
      }
      if (mine.size === 0) this.rows.delete(c);
    }
    for (const [site, m] of this.files) {
      for (const [file, r] of m) if (r.untilMs <= nowMs) m.delete(file);
      if (m.size === 0) this.files.delete(site);
    }
  }

  private anyFailed(c: LiveCampaign, row: number, site: number): boolean {
    const m = this.files.get(site);
    if (!m) return false;
    for (const f of c.rows.locality.files(row)) if (m.get(f)?.failed) return true;
    return false;
  }

  private count(site: number, delta: number): void {
    const n = (this.inFlightBySite.get(site) ?? 0) + delta;
    if (n > 0) this.inFlightBySite.set(site, n);
    else this.inFlightBySite.delete(site);
  }
}
