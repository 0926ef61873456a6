// What the scheduler needs to place a campaign's quanta, as columns: each
// row's catalog input files (file numbers of the ReplicaIndex, compressed
// sparse rows), the rows reading each file (sorted, for cache and replica
// updates), where a finished row's outputs went, and each row's critical
// path (the longest chain of quanta from it to the end of the graph).
import type { Links } from "./row-links.js";

const NO_ROWS = new Int32Array(0);
/** A row whose outputs have no known site. */
export const NO_SITE = -1;

export class RowLocality {
  private inputs: Links = { start: Int32Array.of(0), rows: NO_ROWS };
  /** Readers: file numbers ascending, and for readerFiles[k] the rows readerRows[readerStart[k] .. readerStart[k + 1]). */
  private readerFiles = NO_ROWS;
  private readerStart = Int32Array.of(0);
  private readerRows = NO_ROWS;
  private producedSiteCol = new Int8Array(0);
  private producedBytesCol = new Float64Array(0);
  private depthCol: Uint16Array = new Uint16Array(0);

  /**
   * Adds rows first..first+count-1: `files` holds each new row's input file
   * numbers (CSR over the new rows; empty when unknown), `downstream` the
   * campaign's links after the append (critical paths change upstream too).
   */
  append(first: number, count: number, files: Links | undefined, downstream: (row: number) => Int32Array): void {
    const n = first + count;
    const start = new Int32Array(n + 1);
    start.set(this.inputs.start.subarray(0, first + 1));
    const base = start[first]!;
    const added = files ? files.start[count]! : 0;
    for (let i = 1; i <= count; i++) start[first + i] = base + (files ? files.start[i]! : 0);
    const rows = new Int32Array(base + added);
    rows.set(this.inputs.rows.subarray(0, base));
    if (files) rows.set(files.rows.subarray(0, added), base);
    this.inputs = { start, rows };
    this.indexReaders(n);
    this.producedSiteCol = grow(this.producedSiteCol, n, NO_SITE);
    this.producedBytesCol = grow(this.producedBytesCol, n, 0);
    this.depthCol = criticalPaths(n, downstream);
  }

  /** Input file numbers of a row. */
  files(row: number): Int32Array {
    return this.inputs.rows.subarray(this.inputs.start[row]!, this.inputs.start[row + 1]!);
  }

  /** Rows reading a file. */
  readers(file: number): Int32Array {
    let lo = 0;
    let hi = this.readerFiles.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const f = this.readerFiles[mid]!;
      if (f === file) return this.readerRows.subarray(this.readerStart[mid]!, this.readerStart[mid + 1]!);
      if (f < file) lo = mid + 1;
      else hi = mid - 1;
    }
    return NO_ROWS;
  }

  /** Every file the campaign reads, ascending. */
  allFiles(): Int32Array {
    return this.readerFiles;
  }

  /** Longest chain of quanta from this row to the end, this one included. */
  depth(row: number): number {
    return this.depthCol[row]!;
  }

  producedSite(row: number): number {
    return this.producedSiteCol[row]!;
  }

  producedBytes(row: number): number {
    return this.producedBytesCol[row]!;
  }

  /** Where a row's outputs were stored (site number, NO_SITE if unknown) and how many bytes. */
  setProduced(row: number, site: number, bytes: number): void {
    this.producedSiteCol[row] = site;
    this.producedBytesCol[row] = bytes;
  }

  private indexReaders(n: number): void {
    const edges = this.inputs.start[n]!;
    // Sort (file, row) pairs packed into one number: files below 2^26, rows below 2^26.
    const keys = new Float64Array(edges);
    for (let r = 0; r < n; r++) for (let e = this.inputs.start[r]!; e < this.inputs.start[r + 1]!; e++) keys[e] = this.inputs.rows[e]! * 2 ** 26 + r;
    keys.sort();
    const files: number[] = [];
    const start: number[] = [0];
    const rows = new Int32Array(edges);
    for (let e = 0; e < edges; e++) {
      const file = Math.floor(keys[e]! / 2 ** 26);
      rows[e] = keys[e]! - file * 2 ** 26;
      if (files[files.length - 1] !== file) {
        if (files.length > 0) start.push(e);
        files.push(file);
      }
    }
    if (files.length > 0) start.push(edges);
    this.readerFiles = Int32Array.from(files);
    this.readerStart = Int32Array.from(start);
    this.readerRows = rows;
  }
}

/** Critical path of every row: downstream rows come after their makers, so one backward pass. */
function criticalPaths(n: number, downstream: (row: number) => Int32Array): Uint16Array {
  const depth = new Uint16Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let deepest = 0;
    for (const d of downstream(r)) if (depth[d]! > deepest) deepest = depth[d]!;
    depth[r] = Math.min(0xffff, deepest + 1);
  }
  return depth;
}

function grow<T extends Int8Array | Float64Array>(col: T, n: number, fill: number): T {
  if (col.length >= n) return col;
  const next = new (col.constructor as new (n: number) => T)(n);
  next.fill(fill);
  next.set(col);
  return next;
}
