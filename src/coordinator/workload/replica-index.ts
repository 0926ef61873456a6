// Where the input files of live quanta are: one dense file number per DID,
// its size, and a bit mask of the sites holding an AVAILABLE replica; which
// agents hold it in their LMDB cache. The scheduler scores a (quantum, agent)
// pair from these columns without any I/O. Loaded from the DBB at submit and
// start-up, kept current from its replica events and the agents' cache
// reports. Sites are bits of a u32: locality covers the first 32 sites named.
export const MAX_SITES = 32;

export class ReplicaIndex {
  private readonly fileOf = new Map<string, number>();
  /** The DID of each file number (the pre-stager names files in the rules it asks for). */
  private readonly didOf: string[] = [];
  private bytesCol = new Float64Array(1024);
  private sitesCol = new Uint32Array(1024);
  /** The first two RSEs (their numbers) holding a file's AVAILABLE replicas, -1 for none; a file at more RSEs is in `several`. */
  private firstCol: Int16Array = new Int16Array(1024).fill(-1);
  private secondCol: Int16Array = new Int16Array(1024).fill(-1);
  /** RSE numbers of files with AVAILABLE replicas at three RSEs or more (few: most files have one or two copies). */
  private readonly several = new Map<number, Set<number>>();
  private readonly siteNumbers = new Map<string, number>();
  private readonly rseNumbers = new Map<string, number>();
  /** Site number of each RSE number. */
  private readonly rseSite: number[] = [];
  /** Agents caching a file, by file. */
  private readonly cachers = new Map<number, Set<string>>();
  /** Files an agent caches, by agent. */
  private readonly caches = new Map<string, Set<number>>();

  get files(): number {
    return this.fileOf.size;
  }

  /** The site's bit number; undefined past MAX_SITES. */
  site(name: string): number | undefined {
    let n = this.siteNumbers.get(name);
    if (n === undefined && this.siteNumbers.size < MAX_SITES) this.siteNumbers.set(name, (n = this.siteNumbers.size));
    return n;
  }

  /** Every site with a number, name → number (read by the metrics; never grows it). */
  get siteNumbering(): ReadonlyMap<string, number> {
    return this.siteNumbers;
  }

  /** Teaches which site an RSE belongs to (from the DBB's RSE list). */
  setRseSite(rse: string, site: string): void {
    const n = this.site(site);
    if (n === undefined || this.rseNumbers.size >= 0x7fff) return;
    let r = this.rseNumbers.get(rse);
    if (r === undefined) this.rseNumbers.set(rse, (r = this.rseSite.length));
    this.rseSite[r] = n;
  }

  knowsRse(rse: string): boolean {
    return this.rseNumbers.has(rse);
  }

  /** The site number of an RSE, if known. */
  siteOfRse(rse: string): number | undefined {
    const r = this.rseNumbers.get(rse);
    return r === undefined ? undefined : this.rseSite[r];
  }

  /** The file number of a DID, made on first sight; `bytes` updates its size when known. */
  file(did: string, bytes?: number): number {
    let f = this.fileOf.get(did);
    if (f === undefined) {
      f = this.fileOf.size;
      this.fileOf.set(did, f);
      this.didOf.push(did);
      if (f >= this.bytesCol.length) {
        const n = 2 * this.bytesCol.length;
        this.bytesCol = grow(this.bytesCol, n);
        this.sitesCol = grow(this.sitesCol, n);
        this.firstCol = growRses(this.firstCol, n);
        this.secondCol = growRses(this.secondCol, n);
      }
    }
    if (bytes !== undefined && bytes > 0) this.bytesCol[f] = bytes;
    return f;
  }

  /** The file number of a DID, if it has one. */
  lookup(did: string): number | undefined {
    return this.fileOf.get(did);
  }

  /** The DID of a file number. */
  did(file: number): string {
    return this.didOf[file]!;
  }

  bytes(file: number): number {
    return this.bytesCol[file]!;
  }

  /** Sites holding an AVAILABLE replica, as a bit mask. */
  sites(file: number): number {
    return this.sitesCol[file]!;
  }

  /**
   * A replica of a known file became AVAILABLE (or stopped being so) at an
   * RSE. Returns whether the file's site mask changed; an RSE whose site is
   * not known yet changes nothing (the caller refreshes the RSE list).
   */
  setReplica(file: number, rse: string, available: boolean): boolean {
    const r = this.rseNumbers.get(rse);
    if (r === undefined) return false;
    const held = this.rsesOf(file);
    if (available) held.add(r);
    else held.delete(r);
    return this.keep(file, held);
  }

  /** The AVAILABLE RSEs of a file, all at once (a catalog snapshot); returns whether its mask changed. */
  setReplicas(file: number, rses: readonly string[]): boolean {
    const held = new Set<number>();
    for (const rse of rses) {
      const r = this.rseNumbers.get(rse);
      if (r !== undefined) held.add(r);
    }
    return this.keep(file, held);
  }

  private rsesOf(file: number): Set<number> {
    const several = this.several.get(file);
    if (several) return several;
    const held = new Set<number>();
    if (this.firstCol[file]! >= 0) held.add(this.firstCol[file]!);
    if (this.secondCol[file]! >= 0) held.add(this.secondCol[file]!);
    return held;
  }

  /** Stores a file's RSEs (a column when there is at most one) and its site mask; whether the mask changed. */
  private keep(file: number, held: ReadonlySet<number>): boolean {
    const before = this.sitesCol[file]!;
    let mask = 0;
    for (const r of held) mask |= 1 << this.rseSite[r]!;
    const [first = -1, second = -1] = held.size > 2 ? [] : held;
    this.firstCol[file] = first;
    this.secondCol[file] = second;
    if (held.size > 2) this.several.set(file, new Set(held));
    else this.several.delete(file);
    this.sitesCol[file] = mask >>> 0;
    return this.sitesCol[file] !== before;
  }

  /** An agent's whole cache (its hello); returns the files it did not cache before. */
  setCache(agent: string, dids: readonly string[]): number[] {
    this.dropAgent(agent);
    return this.addCached(agent, dids);
  }

  /** Files an agent cached since its last report; returns their numbers. */
  addCached(agent: string, dids: readonly string[]): number[] {
    const mine = this.caches.get(agent) ?? this.caches.set(agent, new Set()).get(agent)!;
    const added: number[] = [];
    for (const did of dids) {
      const f = this.file(did);
      if (mine.has(f)) continue;
      mine.add(f);
      (this.cachers.get(f) ?? this.cachers.set(f, new Set()).get(f)!).add(agent);
      added.push(f);
    }
    return added;
  }

  /** Files an agent evicted. */
  removeCached(agent: string, dids: readonly string[]): void {
    const mine = this.caches.get(agent);
    if (!mine) return;
    for (const did of dids) {
      const f = this.fileOf.get(did);
      if (f === undefined) continue;
      mine.delete(f);
      const who = this.cachers.get(f);
      who?.delete(agent);
      if (who?.size === 0) this.cachers.delete(f);
    }
  }

  /** An agent left: its cache no longer counts. */
  dropAgent(agent: string): void {
    const mine = this.caches.get(agent);
    if (!mine) return;
    for (const f of mine) {
      const who = this.cachers.get(f);
      who?.delete(agent);
      if (who?.size === 0) this.cachers.delete(f);
    }
    this.caches.delete(agent);
  }

  cachedBy(file: number): ReadonlySet<string> | undefined {
    return this.cachers.get(file);
  }

  /** Files an agent caches. */
  cacheOf(agent: string): ReadonlySet<number> {
    return this.caches.get(agent) ?? EMPTY;
  }
}

const EMPTY: ReadonlySet<number> = new Set();

function growRses(col: Int16Array, n: number): Int16Array {
  const next = new Int16Array(n).fill(-1);
  next.set(col);
  return next;
}

function grow<T extends Float64Array | Uint32Array>(col: T, n: number): T {
  let size = col.length;
  while (size < n) size *= 2;
  const next = new (col.constructor as new (n: number) => T)(size);
  next.set(col);
  return next;
}
