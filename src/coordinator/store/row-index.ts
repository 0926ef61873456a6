// A batch of quantum rows (links and identities) as one binary value, so a
// restart reads a campaign's index in a few Redis replies instead of parsing
// every definition. Little-endian:
//   u32 count, u32 edges, i32 start[count + 1], i32 rows[edges], identities[count × IDENTITY_BYTES]
import { IDENTITY_BYTES } from "../campaign/identity.js";
import type { RowBatch, TaskRange } from "../workload/quantum-rows.js";

export function encodeRowBatch(batch: RowBatch): Buffer {
  const { count } = batch;
  const edges = batch.upstream.start[count]!;
  const out = Buffer.alloc(8 + 4 * (count + 1) + 4 * edges + IDENTITY_BYTES * count);
  out.writeUInt32LE(count, 0);
  out.writeUInt32LE(edges, 4);
  let at = 8;
  for (let i = 0; i <= count; i++, at += 4) out.writeInt32LE(batch.upstream.start[i]!, at);
  for (let e = 0; e < edges; e++, at += 4) out.writeInt32LE(batch.upstream.rows[e]!, at);
  out.set(batch.identities.subarray(0, IDENTITY_BYTES * count), at);
  return out;
}

/** The batch stored for rows from `first`, with its part of the campaign's task ranges. */
export function decodeRowBatch(value: Buffer, first: number, campaignRanges: readonly TaskRange[]): RowBatch {
  const count = value.readUInt32LE(0);
  const ranges = campaignRanges.filter((r) => r.start >= first && r.start < first + count);
  const edges = value.readUInt32LE(4);
  if (value.length !== 8 + 4 * (count + 1) + 4 * edges + IDENTITY_BYTES * count) throw new Error(`a row index of ${count} rows and ${edges} links has ${value.length} bytes`);
  let at = 8;
  const start = new Int32Array(count + 1);
  for (let i = 0; i <= count; i++, at += 4) start[i] = value.readInt32LE(at);
  const rows = new Int32Array(edges);
  for (let e = 0; e < edges; e++, at += 4) rows[e] = value.readInt32LE(at);
  return { ranges: ranges.map((r) => ({ ...r })), count, upstream: { start, rows }, identities: new Uint8Array(value.subarray(at)) };
}
