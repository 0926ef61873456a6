// Per-minute figures for the dashboard's plots: quanta finished and bytes
// moved per site, over the last hour. Fed from attempt results as they are
// stored; a fixed ring of minute buckets, so memory is bounded whatever runs.
import { provenanceFigures, stageInBySource } from "../../common/provenance-figures.js";

/** One site's figures in one minute. */
export interface SiteMinute {
  succeeded: number;
  failed: number;
  /** Input bytes staged in from an RSE (own or other site). */
  bytesIn: number;
  /** Input bytes served from the agent's cache (not moved). */
  bytesCached: number;
  /** Output bytes written. */
  bytesOut: number;
}

export interface MinuteBucket {
  /** Start of the minute, ms since epoch. */
  minute: number;
  sites: Record<string, SiteMinute>;
}

/** What one ended attempt adds. */
export interface AttemptFigure {
  /** The attempt's lease: a result sent again (its acknowledgement lost) is counted once. */
  leaseId: string;
  site: string;
  succeeded: boolean;
  endMs: number;
  bytesIn: number;
  bytesCached: number;
  bytesOut: number;
}

const MINUTE = 60_000;
/** Sites kept per minute: a hostile or broken agent cannot grow a bucket without bound. */
const MAX_SITES = 64;
/** Leases remembered to count each result once. */
const SEEN_LEASES = 4096;

export class Throughput {
  private readonly ring: (MinuteBucket | undefined)[];
  private readonly seen = new Set<string>();

  constructor(private readonly minutes = 60) {
    this.ring = new Array<MinuteBucket | undefined>(minutes).fill(undefined);
  }

  record(f: AttemptFigure): void {
    if (this.seen.has(f.leaseId)) return;
    this.seen.add(f.leaseId);
    // A Set iterates in insertion order: the oldest lease goes first.
    if (this.seen.size > SEEN_LEASES) this.seen.delete(this.seen.values().next().value!);
    const minute = Math.floor((Number.isFinite(f.endMs) && f.endMs > 0 ? f.endMs : Date.now()) / MINUTE) * MINUTE;
    const slot = Math.floor(minute / MINUTE) % this.minutes;
    let bucket = this.ring[slot];
    if (bucket === undefined || bucket.minute !== minute) {
      // An attempt that ended before the oldest minute kept is not plotted.
      if (bucket !== undefined && bucket.minute > minute) return;
      bucket = { minute, sites: {} };
      this.ring[slot] = bucket;
    }
    let site = bucket.sites[f.site];
    if (site === undefined) {
      if (Object.keys(bucket.sites).length >= MAX_SITES) return;
      site = { succeeded: 0, failed: 0, bytesIn: 0, bytesCached: 0, bytesOut: 0 };
      bucket.sites[f.site] = site;
    }
    if (f.succeeded) site.succeeded++;
    else site.failed++;
    site.bytesIn += f.bytesIn;
    site.bytesCached += f.bytesCached;
    site.bytesOut += f.bytesOut;
  }

  /** The minutes of the last hour up to now, oldest first (minutes with nothing are left out). */
  snapshot(now = Date.now()): MinuteBucket[] {
    const oldest = Math.floor(now / MINUTE) * MINUTE - (this.minutes - 1) * MINUTE;
    return this.ring
      .filter((b): b is MinuteBucket => b !== undefined && b.minute >= oldest)
      .sort((a, b) => a.minute - b.minute)
      .map((b) => ({ minute: b.minute, sites: structuredClone(b.sites) }));
  }
}

/**
 * Bytes an attempt staged in (from an RSE or from the cache) and wrote out,
 * read from its provenance record (the agent's, untrusted: provenance-figures.ts).
 */
export function bytesOfProvenance(provenanceJson: string): { bytesIn: number; bytesCached: number; bytesOut: number } {
  const p = provenanceFigures(provenanceJson);
  const { cache, own_site, other_site } = stageInBySource(p.inputs, () => true);
  return { bytesIn: own_site + other_site, bytesCached: cache, bytesOut: p.outBytes };
}
