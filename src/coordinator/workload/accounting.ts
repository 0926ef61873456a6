// What a campaign's attempts cost and moved, per task and the site that ran
// them (`orrery report`): quanta, attempts by outcome, CPU and wall time, peak
// memory, bytes staged in (agent cache, an RSE of the attempt's own site, an
// RSE of another site) and bytes written out. Counted as each attempt ends, in
// the same journal change as the attempt (like attempt-figures.ts), and kept
// on the campaign record, so a restart keeps them and no attempt is read again.
// Attempts still running are added when a report is made, from the leases.
import { z } from "../../common/zod.js";
import type { ReplicaIndex } from "./replica-index.js";
import { MAX_BYTES, bounded, provenanceFigures } from "../../common/provenance-figures.js";

/** An attempt's wall time past this (about three years) is not believed: counted as 0. */
const MAX_WALL_MS = 1e11;

/** One task at one site. Times in whole milliseconds, so sums are exact. */
export interface SiteAccount {
  /** Distinct quanta with at least one attempt at this site. */
  quanta: number;
  /** Quanta that succeeded at this site (a quantum succeeds once: these sum to the campaign's succeeded quanta). */
  succeeded: number;
  /** Ended attempts by outcome (`succeeded`, `payload_error`, `lost`, `cancelled`, …). */
  outcomes: Record<string, number>;
  /** The payloads' CPU time (provenance `cpuSeconds`; 0 for attempts without a record). */
  cpuMs: number;
  /** Lease to end of each attempt. */
  wallMs: number;
  /** Largest provenance `peakRssBytes` of an attempt. */
  peakRssBytes: number;
  /** Input bytes read from the agent's cache. */
  cacheBytes: number;
  /** Input bytes staged from an RSE of the attempt's own site. */
  ownSiteBytes: number;
  /** Input bytes staged from an RSE of another site (or an RSE the coordinator cannot place). */
  otherSiteBytes: number;
  /** Output bytes of the attempts that succeeded (what they registered). */
  outBytes: number;
}

export interface CampaignAccounting {
  /** Task → site → figures. */
  tasks: Record<string, Record<string, SiteAccount>>;
  /** Distinct quanta with at least one attempt anywhere. */
  quanta: number;
}

/** An attempt record's site and outcome ("" while it runs): model.ts AttemptRecord. */
export interface AttemptPlace {
  site: string;
  outcome: string;
}

/** Where input bytes came from, relative to the attempt's site. */
export type SiteOf = (rse: string, site: string) => "own" | "other";

/** Own site when the DBB places the RSE at the attempt's site; an RSE it does not know is another site's. */
export function rseSites(replicas: Pick<ReplicaIndex, "siteOfRse" | "site">): SiteOf {
  return (rse, site) => {
    const at = replicas.siteOfRse(rse);
    return at !== undefined && at === replicas.site(site) ? "own" : "other";
  };
}

/** An ended attempt as the accounting sees it. */
export interface AccountedAttempt {
  task: string;
  attempt: { site: string; startMs: number; endMs: number };
  outcome: string;
  /** The agent's provenance record ("" when none: lost, cancelled). Untrusted. */
  provenanceJson: string;
  /** The replicas a successful attempt registered. */
  outputs: readonly { bytes: number }[];
  /** The quantum's attempts before this one (to count each quantum once per site). */
  earlier: readonly AttemptPlace[];
}


export function emptyAccounting(): CampaignAccounting {
  return { tasks: {}, quanta: 0 };
}

export function emptyAccount(): SiteAccount {
  return { quanta: 0, succeeded: 0, outcomes: {}, cpuMs: 0, wallMs: 0, peakRssBytes: 0, cacheBytes: 0, ownSiteBytes: 0, otherSiteBytes: 0, outBytes: 0 };
}

function accountOf(acc: CampaignAccounting, task: string, site: string): SiteAccount {
  const sites = (acc.tasks[task] ??= {});
  return (sites[site] ??= emptyAccount());
}

/**
 * Counts an ended attempt; `sign` -1 takes one back (a lost attempt whose
 * late result came after all: it has no provenance, so nothing but its count,
 * outcome and wall time changes; a peak, a maximum, is never taken back).
 */
export function accountAttempt(acc: CampaignAccounting, a: AccountedAttempt, siteOf: SiteOf, sign: 1 | -1 = 1): void {
  const site = a.attempt.site;
  const f = accountOf(acc, a.task, site);
  const ended = a.earlier.filter((e) => e.outcome !== "");
  if (!ended.some((e) => e.site === site)) f.quanta += sign;
  if (ended.length === 0) acc.quanta += sign;
  if (a.outcome === "succeeded") f.succeeded += sign;
  f.outcomes[a.outcome] = (f.outcomes[a.outcome] ?? 0) + sign;
  if (f.outcomes[a.outcome] === 0) delete f.outcomes[a.outcome];
  const { startMs, endMs } = a.attempt;
  f.wallMs += sign * (startMs > 0 ? bounded(endMs - startMs, MAX_WALL_MS) : 0);
  const p = provenanceFigures(a.provenanceJson);
  f.cpuMs += sign * p.cpuMs;
  if (sign > 0) f.peakRssBytes = Math.max(f.peakRssBytes, p.peakRssBytes);
  for (const input of p.inputs) {
    if (input.source === "cache") f.cacheBytes += sign * input.bytes;
    else if (siteOf(input.source, site) === "own") f.ownSiteBytes += sign * input.bytes;
    else f.otherSiteBytes += sign * input.bytes;
  }
  if (a.outcome === "succeeded") for (const o of a.outputs) f.outBytes += sign * bounded(o.bytes, MAX_BYTES);
}

/** An attempt still running: counted in a report's copy of the figures (outcome `running`), never stored. */
export function accountRunning(acc: CampaignAccounting, task: string, attempts: readonly AttemptPlace[]): void {
  const last = attempts[attempts.length - 1];
  if (!last || last.outcome !== "") return;
  const f = accountOf(acc, task, last.site);
  const ended = attempts.slice(0, -1).filter((e) => e.outcome !== "");
  if (!ended.some((e) => e.site === last.site)) f.quanta++;
  if (ended.length === 0) acc.quanta++;
  f.outcomes["running"] = (f.outcomes["running"] ?? 0) + 1;
}

/** The sum of every cell (peak memory: the largest). */
export function totalsOf(acc: CampaignAccounting): SiteAccount {
  const t = emptyAccount();
  for (const sites of Object.values(acc.tasks)) {
    for (const f of Object.values(sites)) {
      for (const k of ["quanta", "succeeded", "cpuMs", "wallMs", "cacheBytes", "ownSiteBytes", "otherSiteBytes", "outBytes"] as const) t[k] += f[k];
      t.peakRssBytes = Math.max(t.peakRssBytes, f.peakRssBytes);
      for (const [o, n] of Object.entries(f.outcomes)) t.outcomes[o] = (t.outcomes[o] ?? 0) + n;
    }
  }
  return t;
}

/** Attempts of a cell: the sum of its outcomes. */
export function attemptsOf(f: Pick<SiteAccount, "outcomes">): number {
  return Object.values(f.outcomes).reduce((s, n) => s + n, 0);
}

const count = z.number().int().nonnegative();
const storedAccount = z.object({
  quanta: count,
  succeeded: count,
  outcomes: z.record(z.string(), count),
  cpuMs: count,
  wallMs: count,
  peakRssBytes: count,
  cacheBytes: count,
  ownSiteBytes: count,
  otherSiteBytes: count,
  outBytes: count,
});
const storedAccounting = z.object({ tasks: z.record(z.string(), z.record(z.string(), storedAccount)), quanta: count });

/** The figures as stored on the campaign record; undefined for a record that has none or that does not read as figures. */
export function readAccounting(json: string | undefined): CampaignAccounting | undefined {
  if (json === undefined || json === "") return undefined;
  try {
    const parsed = storedAccounting.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
