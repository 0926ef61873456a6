// A campaign's READY quanta, arranged for locality. Each ready row sits in
// the bucket of every site holding the most of its input bytes (or in
// `anywhere` when no site holds any), ordered within a bucket by critical
// path (deeper first), then by how few sites could take it (a row only this
// site can run goes before one another site could run too), then by when it
// became ready; an agent caching a row's input has it in its own affinity
// set. An agent takes, in order:
// rows of its affinity set, rows local to its site, rows local nowhere, and
// then rows local elsewhere only once their sites have started none of the
// campaign's quanta for the locality delay (and the row waited that long),
// or when no agent is connected at their sites. That is delay scheduling as
// Zaharia et al. (EuroSys 2010) define it: the wait restarts whenever a
// local slot is used, so a busy site keeps its work and only a site whose
// slots stopped freeing up loses it. No I/O: columns only.
import type { QuantumRows } from "./quantum-rows.js";
import { NO_SITE } from "./row-locality.js";
import type { ReplicaIndex } from "./replica-index.js";

/** What one pick needs to know of the agent asking and of the moment. */
export interface PickContext {
  agent: string;
  /** The agent's site number (ReplicaIndex.site), undefined when it has none. */
  site: number | undefined;
  nowMs: number;
  /** How long a row waits for an agent at its data's site. */
  delayMs: number;
  /** Sites with a connected agent, as a bit mask. */
  activeSites: number;
  /** Rows already picked in this decision. */
  taken: ReadonlySet<number>;
  /** Whether the row fits what is left of the agent's slot. */
  fits(row: number): boolean;
}

/** Input bytes per site of the row being placed (one at a time: the manager is one actor). */
const SCRATCH = new Float64Array(32);

/** Rows scanned per bucket and pick at most: rows that fit no slot must not make a pick cost the whole queue. */
const SCAN_LIMIT = 4096;

/** A bucket's order: deeper critical path first, then fewer sites holding the data. */
function rankOf(depth: number, mask: number): number {
  let sites = 0;
  for (let m = mask; m !== 0; m &= m - 1) sites++;
  return depth * 64 + (32 - sites);
}

/** Rows by rank (rankOf), highest first; within one rank in insertion order. */
class RankQueue {
  private readonly byRank = new Map<number, Set<number>>();
  private ranks: number[] = [];
  size = 0;

  add(row: number, rank: number): void {
    let set = this.byRank.get(rank);
    if (!set) {
      this.byRank.set(rank, (set = new Set()));
      this.ranks.push(rank);
      this.ranks.sort((a, b) => b - a);
    }
    if (!set.has(row)) this.size++;
    set.add(row);
  }

  delete(row: number, rank: number): void {
    const set = this.byRank.get(rank);
    if (!set) return;
    if (set.delete(row)) this.size--;
    if (set.size === 0) {
      this.byRank.delete(rank);
      this.ranks = this.ranks.filter((r) => r !== rank);
    }
  }

  /** The first row `take` accepts, scanning each rank until `stop` says the rest of that rank waited too little. */
  find(take: (row: number) => boolean, stop?: (row: number) => boolean): number | undefined {
    for (const d of this.ranks) {
      let scanned = 0;
      for (const row of this.byRank.get(d)!) {
        if (stop?.(row)) break;
        if (take(row)) return row;
        if (++scanned >= SCAN_LIMIT) break;
      }
    }
    return undefined;
  }

  /** Every row in pick order. */
  *rows(): Generator<number> {
    for (const d of this.ranks) yield* this.byRank.get(d) ?? [];
  }
}

export class ReadyQueue {
  private readonly all = new Set<number>();
  private readonly bySite = new Map<number, RankQueue>();
  private readonly anywhere = new RankQueue();
  /** Per row (columns: a million ready rows cost no map entries): site mask of the buckets it is in (0: anywhere), and when it became ready. */
  private bucketCol = new Uint32Array(0);
  private sinceCol = new Float64Array(0);
  private readonly affinity = new Map<string, Set<number>>();
  /** When an agent of each site last took one of these rows as local work. */
  private readonly lastLocalStart = new Map<number, number>();

  constructor(
    private readonly rows: QuantumRows,
    private readonly replicas: ReplicaIndex,
    private readonly clock: () => number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  has(row: number): boolean {
    return this.all.has(row);
  }

  /** Ready rows in the order they became ready. */
  [Symbol.iterator](): IterableIterator<number> {
    return this.all.values();
  }

  add(row: number, sinceMs = this.clock()): void {
    if (this.all.has(row)) return;
    this.all.add(row);
    this.ensure(row);
    this.sinceCol[row] = sinceMs;
    this.place(row);
    const loc = this.rows.locality;
    for (const f of loc.files(row)) {
      const agents = this.replicas.cachedBy(f);
      if (agents) for (const a of agents) this.affinityOf(a).add(row);
    }
  }

  /** When a ready row became ready (ms); 0 for a row that is not. */
  since(row: number): number {
    return this.all.has(row) ? this.sinceCol[row]! : 0;
  }

  delete(row: number): void {
    if (!this.all.delete(row)) return;
    this.unplace(row);
    for (const f of this.rows.locality.files(row)) {
      const agents = this.replicas.cachedBy(f);
      if (agents) for (const a of agents) this.affinity.get(a)?.delete(row);
    }
  }

  /** Grows the columns to hold `row`. */
  private ensure(row: number): void {
    if (row < this.bucketCol.length) return;
    const n = Math.max(row + 1, this.rows.length, 2 * this.bucketCol.length);
    const bucket = new Uint32Array(n);
    bucket.set(this.bucketCol);
    const since = new Float64Array(n);
    since.set(this.sinceCol);
    this.bucketCol = bucket;
    this.sinceCol = since;
  }

  /**
   * Sites holding the most of the row's input bytes, as a mask; 0 when no
   * site holds any. Catalog files count where their replicas are, files made
   * by the row's makers where those ran.
   */
  private bestSites(row: number): number {
    const local = SCRATCH.fill(0);
    let touched = 0;
    const loc = this.rows.locality;
    for (const f of loc.files(row)) {
      const bytes = this.replicas.bytes(f);
      const sites = this.replicas.sites(f);
      touched |= sites;
      for (let m = sites; m !== 0; m &= m - 1) local[31 - Math.clz32(m & -m)]! += bytes;
    }
    for (const u of this.rows.upstream(row)) {
      const s = loc.producedSite(u);
      if (s === NO_SITE) continue;
      touched |= 1 << s;
      local[s]! += loc.producedBytes(u);
    }
    let best = 0;
    for (let m = touched; m !== 0; m &= m - 1) best = Math.max(best, local[31 - Math.clz32(m & -m)]!);
    if (best === 0) return 0;
    let mask = 0;
    for (let m = touched; m !== 0; m &= m - 1) {
      const s = 31 - Math.clz32(m & -m);
      if (local[s]! >= best) mask |= 1 << s;
    }
    return mask >>> 0;
  }

  private place(row: number): void {
    const mask = this.bestSites(row);
    const rank = rankOf(this.rows.locality.depth(row), mask);
    this.bucketCol[row] = mask;
    if (mask === 0) this.anywhere.add(row, rank);
    for (let m = mask; m !== 0; m &= m - 1) {
      const s = 31 - Math.clz32(m & -m);
      (this.bySite.get(s) ?? this.bySite.set(s, new RankQueue()).get(s)!).add(row, rank);
    }
  }

  private unplace(row: number): void {
    const mask = this.bucketCol[row]!;
    const rank = rankOf(this.rows.locality.depth(row), mask);
    if (mask === 0) this.anywhere.delete(row, rank);
    for (let m = mask; m !== 0; m &= m - 1) this.bySite.get(31 - Math.clz32(m & -m))?.delete(row, rank);
  }

  /** How many ready rows are local to a site (in its bucket). */
  localTo(site: number): number {
    return this.bySite.get(site)?.size ?? 0;
  }

  /** A site's bucket in the order its agents would take it (the pre-stager reads it). */
  bucket(site: number): Iterable<number> {
    return this.bySite.get(site)?.rows() ?? [];
  }

  /** The sites whose bucket holds a ready row, as a mask (0: anywhere, or not ready). */
  sitesOf(row: number): number {
    return this.all.has(row) ? this.bucketCol[row]! : 0;
  }

  /** The replicas of these files changed: their ready readers move to their new best sites. */
  replicasChanged(files: Iterable<number>): void {
    for (const f of files) {
      for (const row of this.rows.locality.readers(f)) {
        if (!this.all.has(row)) continue;
        this.unplace(row);
        this.place(row);
      }
    }
  }

  /** An agent now caches these files: their ready readers go to its affinity set. */
  cached(agent: string, files: Iterable<number>): void {
    for (const f of files) for (const row of this.rows.locality.readers(f)) if (this.all.has(row)) this.affinityOf(agent).add(row);
  }

  /** An agent left. */
  dropAgent(agent: string): void {
    this.affinity.delete(agent);
  }

  private affinityOf(agent: string): Set<number> {
    return this.affinity.get(agent) ?? this.affinity.set(agent, new Set()).get(agent)!;
  }

  /** The row this agent should run next, by locality; undefined when nothing may go to it now. */
  pick(ctx: PickContext): number | undefined {
    const take = (row: number) => !ctx.taken.has(row) && ctx.fits(row);
    const mine = this.affinity.get(ctx.agent);
    if (mine) {
      let scanned = 0;
      for (const row of mine) {
        if (!this.all.has(row)) {
          mine.delete(row);
          continue;
        }
        if (take(row)) {
          if (ctx.site !== undefined) this.lastLocalStart.set(ctx.site, ctx.nowMs);
          return row;
        }
        if (++scanned >= SCAN_LIMIT) break;
      }
    }
    const local = ctx.site === undefined ? undefined : this.bySite.get(ctx.site)?.find(take);
    if (local !== undefined) {
      this.lastLocalStart.set(ctx.site!, ctx.nowMs);
      return local;
    }
    const free = this.anywhere.find(take);
    if (free !== undefined) return free;
    // Rows local elsewhere: only those whose sites stopped taking work for the delay, or have no agent.
    const ripe = ctx.nowMs - ctx.delayMs;
    const waited = (row: number): boolean => {
      const mask = this.bucketCol[row]!;
      if ((mask & ctx.activeSites) === 0) return true;
      let since = this.sinceCol[row]!;
      for (let m = mask; m !== 0; m &= m - 1) since = Math.max(since, this.lastLocalStart.get(31 - Math.clz32(m & -m)) ?? 0);
      return since <= ripe;
    };
    for (const [s, queue] of this.bySite) {
      if (s === ctx.site) continue;
      // Rows of a rank are in ready order: once one has not waited long enough, neither have the rest.
      const row = queue.find((r) => take(r) && waited(r), (r) => !waited(r));
      if (row !== undefined) return row;
    }
    return undefined;
  }
}
