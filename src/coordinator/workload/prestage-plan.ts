// Which ready quanta to pre-stage, and where (DESIGN.md, Pre-staging). Delay
// scheduling keeps a quantum at the site holding its data while that site
// keeps starting work, so a site whose agents are all busy holds its
// waiting quanta, and a site with free agents and no local work sits idle.
// A source is a site with more local ready quanta than free slots; a target
// is a site with free slots, an RSE to stage to, and fewer local or staged
// quanta than its cores × quantaPerCore. Quanta waiting at sources, in the
// order the source would take them, get their missing input files copied
// to a target by transient rules; once a copy lands, the replica event
// makes the quantum local there. Pure: in-memory tables only, run inside
// the manager's mailbox.
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { PrestageLedger } from "./prestage-ledger.js";
import { NO_SITE } from "./row-locality.js";
import { campaignOrder } from "./scheduler.js";

/** The connected agents of one site, as the dispatcher sees them. */
export interface SiteCapacity {
  site: string;
  agents: number;
  cores: number;
  /** Cores the scheduler may still lease there now (free, plus prefetch room). */
  freeCores: number;
  /** What one quantum may ask for there: the largest agent's cores and memory. */
  maxCores: number;
  maxMemoryMB: number;
  /** Whether an agent that is not spot is connected (non-preemptible tasks need one). */
  nonSpot: boolean;
}

export interface PrestageSite extends SiteCapacity {
  /** The RSE rules bring files to; undefined: the site is never a target. */
  rse: string | undefined;
}

export interface PrestagePlanOptions {
  /** Quanta local or staged per core of a target, at most. */
  quantaPerCore: number;
  maxQuantaPerPass: number;
  maxFilesPerPass: number;
}

export interface PrestagePick {
  c: LiveCampaign;
  row: number;
  /** The target's site number. */
  site: number;
  /** Input files to copy there (not there, not asked for yet). */
  files: number[];
}

interface SiteView extends PrestageSite {
  n: number;
  /** Ready quanta local to the site, of campaigns that may use it. */
  local: number;
  budget: number;
}

/** Rows of a source's bucket looked at per pass at most, beyond those staged already: a pass stays short whatever the queue. */
const SCAN_LIMIT = 4096;

const allowed = (c: LiveCampaign, site: string): boolean => c.spec.sites.allow?.includes(site) ?? true;

export function planPrestage(table: CampaignTable, sites: readonly PrestageSite[], ledger: PrestageLedger, opts: PrestagePlanOptions, nowMs: number): PrestagePick[] {
  const replicas = table.replicas;
  const campaigns = campaignOrder(table.campaigns.values());
  const views: SiteView[] = [];
  for (const s of sites) {
    const n = s.agents > 0 ? replicas.site(s.site) : undefined;
    if (n === undefined) continue;
    let local = 0;
    for (const c of campaigns) if (allowed(c, s.site)) local += c.ready.localTo(n);
    views.push({ ...s, n, local, budget: 0 });
  }
  const sources = views.filter((v) => v.local > v.freeCores).sort((a, b) => b.local - b.freeCores - (a.local - a.freeCores));
  let sourceMask = 0;
  for (const v of sources) sourceMask |= 1 << v.n;
  const targets = views.filter((v) => (sourceMask & (1 << v.n)) === 0 && v.rse !== undefined && v.freeCores > 0);
  for (const t of targets) t.budget = Math.floor(t.cores * opts.quantaPerCore) - t.local - ledger.inFlight(t.n);
  const hungry = targets.filter((t) => t.budget > 0).sort((a, b) => b.budget - a.budget);
  const picks: PrestagePick[] = [];
  if (sources.length === 0 || hungry.length === 0) return picks;

  const asked = new Map<number, Set<number>>();
  let files = 0;
  for (const source of sources) {
    // Staged rows stay at the head of the bucket until their copies land: they do not use up the scan.
    for (const { c, row } of waitingAt(campaigns, source, SCAN_LIMIT + ledger.stagedQuanta)) {
      if (picks.length >= opts.maxQuantaPerPass || !hungry.some((t) => t.budget > 0)) return picks;
      if (c.spec.prestage === false || ledger.isStaged(c, row)) continue;
      const mask = c.ready.sitesOf(row);
      // A site with free slots holds as much of its data (it runs there soon), or one without agents does (it runs anywhere at once).
      if ((mask & ~sourceMask) !== 0 || readsOutputs(c, row)) continue;
      const target = targetFor(hungry, c, row, mask);
      if (!target) continue;
      const mine = asked.get(target.n) ?? asked.set(target.n, new Set()).get(target.n)!;
      const missing: number[] = [];
      for (const f of c.rows.locality.files(row)) {
        if ((replicas.sites(f) & (1 << target.n)) !== 0 || mine.has(f) || ledger.requested(target.n, f, nowMs)) continue;
        missing.push(f);
      }
      // Its missing files were asked for already: they land (or are refused) without another request.
      if (missing.length === 0) continue;
      if (files + missing.length > opts.maxFilesPerPass) return picks;
      files += missing.length;
      for (const f of missing) mine.add(f);
      picks.push({ c, row, site: target.n, files: missing });
      target.budget--;
    }
  }
  return picks;
}

/**
 * Rows local to a source that its agents cannot take now, in the order the
 * scheduler serves them: campaigns by priority and submission, each bucket
 * by critical path. The first `freeCores` rows go to the source's own free
 * slots and are passed over.
 */
function* waitingAt(campaigns: readonly LiveCampaign[], source: SiteView, limit: number): Generator<{ c: LiveCampaign; row: number }> {
  let skip = source.freeCores;
  let scanned = 0;
  for (const c of campaigns) {
    if (!allowed(c, source.site)) continue;
    for (const row of c.ready.bucket(source.n)) {
      if (skip > 0) {
        skip--;
        continue;
      }
      if (++scanned > limit) return;
      yield { c, row };
    }
  }
}

/** Outputs of upstream quanta are not in the replica index by name: such a row cannot be staged from memory. */
function readsOutputs(c: LiveCampaign, row: number): boolean {
  for (const u of c.rows.upstream(row)) if (c.rows.locality.producedSite(u) !== NO_SITE) return true;
  return false;
}

/** The hungriest target the campaign may use whose agents can run the row and that does not hold its data already. */
function targetFor(hungry: readonly SiteView[], c: LiveCampaign, row: number, mask: number): SiteView | undefined {
  const task = c.taskByName.get(c.rows.task(row));
  if (!task) return undefined;
  let best: SiteView | undefined;
  for (const t of hungry) {
    if (t.budget <= 0 || (mask & (1 << t.n)) !== 0 || !allowed(c, t.site)) continue;
    if (task.resources.cores > t.maxCores || c.rows.memoryMB(row) > t.maxMemoryMB || (!task.preemptible && !t.nonSpot)) continue;
    if (!best || t.budget > best.budget) best = t;
  }
  return best;
}

/** What the pre-stager asks the DBB for at one target: the files by number (its ledger) and DID (the rule). */
export interface PrestageOrder {
  site: string;
  siteNumber: number;
  rse: string;
  files: { file: number; did: string }[];
  /** Ids of the quanta the files are for. */
  quanta: string[];
}

export interface PrestageTurnOptions extends PrestagePlanOptions {
  /** How long a staged quantum counts against its target's budget while its files have not landed. */
  stagedTimeoutMs: number;
  /** The rules' lifetime: a file is not asked for again before it ends. */
  lifetimeMs: number;
}

/** One turn: forgets what is done with, picks, books the picks in the ledger and names them for the DBB. */
export function prestageTurn(table: CampaignTable, sites: readonly PrestageSite[], ledger: PrestageLedger, opts: PrestageTurnOptions, nowMs: number): PrestageOrder[] {
  ledger.prune(table, nowMs, opts.stagedTimeoutMs);
  const picks = planPrestage(table, sites, ledger, opts, nowMs);
  const orders = new Map<number, PrestageOrder>();
  for (const p of picks) {
    let order = orders.get(p.site);
    if (!order) {
      const s = sites.find((v) => table.replicas.site(v.site) === p.site)!;
      orders.set(p.site, (order = { site: s.site, siteNumber: p.site, rse: s.rse!, files: [], quanta: [] }));
    }
    ledger.stage(p.c, p.row, p.site, nowMs);
    for (const f of p.files) {
      ledger.markRequested(p.site, f, nowMs + opts.lifetimeMs);
      order.files.push({ file: f, did: table.replicas.did(f) });
    }
    order.quanta.push(p.c.rows.id(p.row));
  }
  return [...orders.values()];
}
