// The compact in-memory index of one campaign's quanta: a row number per
// quantum, typed-array columns for what the scheduler reads and changes
// (state, retry counters, memory, back-off), the graph's links as compressed
// sparse rows, identities as 16 raw bytes, and a sparse map only for quanta
// that are running or may run again (attempts, lease, produced replicas). A
// quantum that SUCCEEDED or was SKIPPED never changes again: once its progress
// is in Redis its run record is dropped, so a finished campaign of a million
// quanta keeps only its columns. What a quantum reads and writes (its
// definition) stays in Redis and is read when a lease is made.
// A task's quanta are contiguous rows (a task is expanded once), so an id
// `<campaign>.<task>.<seq>` and a row convert into each other without a map.
import { IDENTITY_BYTES, identityHex } from "../campaign/index.js";
import type { AttemptRecord, LeaseRecord, ProducedReplica, QuantumProgress } from "./model.js";
import { isDone, nextState, QuantumStates, type QuantumEvent, type QuantumState } from "./quantum-state.js";
import { RowLocality } from "./row-locality.js";
import type { Links } from "./row-links.js";

export interface TaskRange {
  task: string;
  /** First row. */
  start: number;
  count: number;
}

/** What a quantum that has run (or was reused) holds beyond its columns. */
export interface RunRecord {
  attempts: AttemptRecord[];
  produced: ProducedReplica[];
  lease?: LeaseRecord;
}

export type { Links } from "./row-links.js";

/** A batch of new rows: one expansion (submit, or a deferred task later). */
export interface RowBatch {
  ranges: TaskRange[];
  count: number;
  /** Upstream rows of each new row (campaign rows: a new row may read from an older one). */
  upstream: Links;
  /** IDENTITY_BYTES per row. */
  identities: Uint8Array;
  /** The catalog files the new rows read (absent in batches stored by older builds). */
  inputs?: BatchInputs;
}

/** Catalog files of a batch: their DIDs and sizes, and each new row's as indexes into them. */
export interface BatchInputs {
  dids: string[];
  bytes: Float64Array;
  links: Links;
  /** The RSEs holding each file when the graph was expanded (not stored: a restart asks the DBB again). */
  rses?: string[][];
}

const STATE_CODE: ReadonlyMap<QuantumState, number> = new Map(QuantumStates.map((s, i) => [s, i]));
const NO_ROWS = new Int32Array(0);
/** A quantum's number within its task, as ids write it. */
const SEQ = /^[1-9][0-9]*$/;

export class QuantumRows {
  length = 0;
  readonly ranges: TaskRange[] = [];
  private stateCol = new Uint8Array(0);
  private failuresCol = new Uint16Array(0);
  private killsCol = new Uint16Array(0);
  private infraCol = new Uint16Array(0);
  private memoryCol = new Int32Array(0);
  private readyAtCol = new Float64Array(0);
  private identityCol = new Uint8Array(0);
  private up: Links = { start: Int32Array.of(0), rows: NO_ROWS };
  private down: Links = { start: Int32Array.of(0), rows: NO_ROWS };
  readonly runs = new Map<number, RunRecord>();
  /** Rows holding a lease. */
  private readonly leasedRows = new Set<number>();
  /** Input files, where outputs went, critical paths: what the scheduler places rows by. */
  readonly locality = new RowLocality();

  constructor(
    readonly campaign: string,
    /** Memory a task's first attempt asks for (MB). */
    private readonly taskMemoryMB: (task: string) => number,
  ) {}

  /**
   * Appends a batch; the new rows start PENDING with their task's memory.
   * `files` gives each new row's input file numbers (ReplicaIndex), as
   * CSR over the new rows. Returns the first new row.
   */
  append(batch: RowBatch, files?: Links): number {
    const first = this.length;
    const n = first + batch.count;
    this.stateCol = grow(this.stateCol, n);
    this.failuresCol = grow(this.failuresCol, n);
    this.killsCol = grow(this.killsCol, n);
    this.infraCol = grow(this.infraCol, n);
    this.memoryCol = grow(this.memoryCol, n);
    this.readyAtCol = grow(this.readyAtCol, n);
    this.identityCol = grow(this.identityCol, n * IDENTITY_BYTES);
    this.identityCol.set(batch.identities.subarray(0, batch.count * IDENTITY_BYTES), first * IDENTITY_BYTES);
    for (const r of batch.ranges) {
      this.ranges.push(r);
      this.memoryCol.fill(this.taskMemoryMB(r.task), r.start, r.start + r.count);
    }
    this.up = concatLinks(this.up, first, batch.upstream, batch.count);
    this.length = n;
    this.down = invert(this.up, n);
    this.locality.append(first, batch.count, files, (row) => this.downstream(row));
    return first;
  }

  id(row: number): string {
    const r = this.rangeOf(row);
    return `${this.campaign}.${r.task}.${row - r.start + 1}`;
  }

  /** The row of a quantum id of this campaign, if it has one. */
  rowOf(id: string): number | undefined {
    return rowOfId(this.campaign, this.ranges, id);
  }

  private rangeOf(row: number): TaskRange {
    for (const r of this.ranges) if (row >= r.start && row < r.start + r.count) return r;
    throw new RangeError(`campaign ${this.campaign} has no quantum row ${row}`);
  }

  task(row: number): string {
    return this.rangeOf(row).task;
  }

  /** The rows of one task. */
  *rowsOf(task: string): Generator<number> {
    for (const r of this.ranges) if (r.task === task) for (let i = r.start; i < r.start + r.count; i++) yield i;
  }

  state(row: number): QuantumState {
    return QuantumStates[this.stateCol[row]!]!;
  }

  /**
   * Applies a lifecycle event to the row through the transition table (an
   * illegal one throws ILLEGAL_TRANSITION) and returns its new state. The
   * only way a state changes besides restore(), which loads a stored one.
   */
  apply(row: number, event: QuantumEvent): QuantumState {
    const next = nextState(this.state(row), event, () => this.id(row));
    this.stateCol[row] = STATE_CODE.get(next)!;
    return next;
  }

  failures(row: number): number {
    return this.failuresCol[row]!;
  }

  kills(row: number): number {
    return this.killsCol[row]!;
  }

  memoryMB(row: number): number {
    return this.memoryCol[row]!;
  }

  readyAtMs(row: number): number {
    return this.readyAtCol[row]!;
  }

  /** After an attempt that did not succeed: one more on a counter, the memory and earliest start of the next attempt. */
  setRetry(row: number, counter: "failures" | "kills" | "infraErrors", memoryMB: number, readyAtMs: number): void {
    const col = counter === "failures" ? this.failuresCol : counter === "kills" ? this.killsCol : this.infraCol;
    col[row] = col[row]! + 1;
    this.memoryCol[row] = memoryMB;
    this.readyAtCol[row] = readyAtMs;
  }

  /** An operator's retry: fresh budgets, its task's memory again, no back-off. */
  resetBudget(row: number): void {
    this.failuresCol[row] = 0;
    this.killsCol[row] = 0;
    this.infraCol[row] = 0;
    this.memoryCol[row] = this.taskMemoryMB(this.task(row));
    this.readyAtCol[row] = 0;
  }

  identity(row: number): string {
    return identityHex(this.identityCol, row);
  }

  upstream(row: number): Int32Array {
    return this.up.rows.subarray(this.up.start[row]!, this.up.start[row + 1]!);
  }

  downstream(row: number): Int32Array {
    return this.down.rows.subarray(this.down.start[row]!, this.down.start[row + 1]!);
  }

  run(row: number): RunRecord | undefined {
    return this.runs.get(row);
  }

  /** The row's run record, made when it has none. */
  runOf(row: number): RunRecord {
    let r = this.runs.get(row);
    if (!r) this.runs.set(row, (r = { attempts: [], produced: [] }));
    return r;
  }

  /** Rows holding a lease. */
  get leased(): ReadonlySet<number> {
    return this.leasedRows;
  }

  setLease(row: number, lease: LeaseRecord | undefined): void {
    const run = this.runOf(row);
    if (lease) {
      run.lease = lease;
      this.leasedRows.add(row);
    } else {
      delete run.lease;
      this.leasedRows.delete(row);
    }
  }

  /** Forgets a run record made by a lease that was taken back before it was stored (the row had none). */
  forgetRun(row: number): void {
    this.setLease(row, undefined);
    this.runs.delete(row);
  }

  /** Takes back one kill counted against the row (a late result showed the attempt was not lost). */
  uncountKill(row: number): void {
    if (this.killsCol[row]! > 0) this.killsCol[row] = this.killsCol[row]! - 1;
  }

  /**
   * Drops the run record of a row that SUCCEEDED or was SKIPPED: call once its
   * progress is stored. Its attempts and produced replicas are read from Redis
   * from then on.
   */
  dropFinishedRun(row: number): void {
    if (isDone(this.state(row))) this.runs.delete(row);
  }

  /** The progress record of a row, as Redis stores it (for a finished row whose run was dropped, without attempts and replicas). */
  progress(row: number): QuantumProgress {
    const run = this.runs.get(row);
    const p: QuantumProgress = {
      state: this.state(row),
      attempts: run?.attempts ?? [],
      failures: this.failuresCol[row]!,
      kills: this.killsCol[row]!,
      infraErrors: this.infraCol[row]!,
      memoryMB: this.memoryCol[row]!,
      readyAtMs: this.readyAtCol[row]!,
      produced: run?.produced ?? [],
    };
    if (run?.lease) p.lease = run.lease;
    return p;
  }

  /** Puts back a stored progress record. */
  restore(row: number, p: QuantumProgress): void {
    this.stateCol[row] = STATE_CODE.get(p.state)!;
    this.failuresCol[row] = p.failures;
    this.killsCol[row] = p.kills;
    this.infraCol[row] = p.infraErrors;
    this.memoryCol[row] = p.memoryMB;
    this.readyAtCol[row] = p.readyAtMs;
    if (isDone(p.state)) return;
    if (p.attempts.length > 0 || p.produced.length > 0 || p.lease) this.runs.set(row, { attempts: p.attempts, produced: p.produced });
    if (p.lease) this.setLease(row, p.lease);
  }

  /** The first state (READY with no makers, else PENDING), nothing attempted: not stored. */
  isInitial(row: number): boolean {
    return (
      this.state(row) === (this.upstream(row).length === 0 ? "READY" : "PENDING") &&
      !this.runs.has(row) &&
      this.failuresCol[row] === 0 &&
      this.killsCol[row] === 0 &&
      this.infraCol[row] === 0 &&
      this.memoryCol[row] === this.taskMemoryMB(this.task(row)) &&
      this.readyAtCol[row] === 0
    );
  }
}

/** The row of quantum `id` (`<campaign>.<task>.<seq>`) among a campaign's task ranges, if it names one. */
export function rowOfId(campaign: string, ranges: readonly TaskRange[], id: string): number | undefined {
  const dot = id.indexOf(".");
  const last = id.lastIndexOf(".");
  if (dot <= 0 || last === dot || id.slice(0, dot) !== campaign) return undefined;
  const task = id.slice(dot + 1, last);
  const digits = id.slice(last + 1);
  if (!SEQ.test(digits)) return undefined;
  const seq = Number(digits);
  const r = ranges.find((x) => x.task === task);
  if (!r || seq > r.count) return undefined;
  return r.start + seq - 1;
}

function grow<T extends Uint8Array | Uint16Array | Int32Array | Float64Array>(col: T, n: number): T {
  if (col.length >= n) return col;
  const next = new (col.constructor as new (n: number) => T)(n);
  next.set(col);
  return next;
}

/** `a` (rows 0..first-1) followed by `b`'s `count` rows. */
function concatLinks(a: Links, first: number, b: Links, count: number): Links {
  const base = a.start[first]!;
  const start = new Int32Array(first + count + 1);
  start.set(a.start.subarray(0, first + 1));
  for (let i = 1; i <= count; i++) start[first + i] = base + b.start[i]!;
  const rows = new Int32Array(base + b.start[count]!);
  rows.set(a.rows.subarray(0, base));
  rows.set(b.rows.subarray(0, b.start[count]!), base);
  return { start, rows };
}

/** Downstream links from upstream ones, each row's in ascending order. */
function invert(up: Links, n: number): Links {
  const start = new Int32Array(n + 1);
  const edges = up.start[n]!;
  for (let e = 0; e < edges; e++) {
    const k = up.rows[e]! + 1;
    start[k] = start[k]! + 1;
  }
  for (let i = 0; i < n; i++) start[i + 1] = start[i + 1]! + start[i]!;
  const fill = start.slice(0, n);
  const rows = new Int32Array(edges);
  for (let r = 0; r < n; r++) {
    for (let e = up.start[r]!; e < up.start[r + 1]!; e++) {
      const u = up.rows[e]!;
      rows[fill[u]!] = r;
      fill[u] = fill[u]! + 1;
    }
  }
  return { start, rows };
}
