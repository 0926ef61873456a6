// A batch of quantum rows (links, identities, catalog input files) as one
// binary value, so a restart reads a campaign's index in a few Redis replies
// instead of parsing every definition. Little-endian:
//   u32 count, u32 edges, i32 start[count + 1], i32 rows[edges], identities[count × IDENTITY_BYTES]
// then the input files (absent in values written before locality existed):
//   u32 jsonBytes, JSON {dids, bytes}, u32 inputEdges, i32 inputStart[count + 1], i32 inputRows[inputEdges]
import { IDENTITY_BYTES } from "../campaign/index.js";
import type { BatchInputs, RowBatch, TaskRange } from "../workload/index.js";

export function encodeRowBatch(batch: RowBatch): Buffer {
  const { count } = batch;
  const edges = batch.upstream.start[count]!;
  const files = batch.inputs ? Buffer.from(JSON.stringify({ dids: batch.inputs.dids, bytes: [...batch.inputs.bytes] })) : undefined;
  const inputEdges = batch.inputs ? batch.inputs.links.start[count]! : 0;
  const head = 8 + 4 * (count + 1) + 4 * edges + IDENTITY_BYTES * count;
  const out = Buffer.alloc(head + (files ? 8 + files.length + 4 * (count + 1) + 4 * inputEdges : 0));
  out.writeUInt32LE(count, 0);
  out.writeUInt32LE(edges, 4);
  let at = 8;
  for (let i = 0; i <= count; i++, at += 4) out.writeInt32LE(batch.upstream.start[i]!, at);
  for (let e = 0; e < edges; e++, at += 4) out.writeInt32LE(batch.upstream.rows[e]!, at);
  out.set(batch.identities.subarray(0, IDENTITY_BYTES * count), at);
  at += IDENTITY_BYTES * count;
  if (files && batch.inputs) {
    out.writeUInt32LE(files.length, at);
    files.copy(out, at + 4);
    at += 4 + files.length;
    out.writeUInt32LE(inputEdges, at);
    at += 4;
    for (let i = 0; i <= count; i++, at += 4) out.writeInt32LE(batch.inputs.links.start[i]!, at);
    for (let e = 0; e < inputEdges; e++, at += 4) out.writeInt32LE(batch.inputs.links.rows[e]!, at);
  }
  return out;
}

/** The batch stored for rows from `first`, with its part of the campaign's task ranges. */
export function decodeRowBatch(value: Buffer, first: number, campaignRanges: readonly TaskRange[]): RowBatch {
  const count = value.readUInt32LE(0);
  const ranges = campaignRanges.filter((r) => r.start >= first && r.start < first + count);
  const edges = value.readUInt32LE(4);
  const head = 8 + 4 * (count + 1) + 4 * edges + IDENTITY_BYTES * count;
  if (value.length < head) throw new Error(`a row index of ${count} rows and ${edges} links has ${value.length} bytes`);
  let at = 8;
  const start = new Int32Array(count + 1);
  for (let i = 0; i <= count; i++, at += 4) start[i] = value.readInt32LE(at);
  const rows = new Int32Array(edges);
  for (let e = 0; e < edges; e++, at += 4) rows[e] = value.readInt32LE(at);
  const batch: RowBatch = { ranges: ranges.map((r) => ({ ...r })), count, upstream: { start, rows }, identities: new Uint8Array(value.subarray(at, head)) };
  if (value.length > head) batch.inputs = decodeInputs(value, head, count);
  return batch;
}

function decodeInputs(value: Buffer, at: number, count: number): BatchInputs {
  const jsonBytes = value.readUInt32LE(at);
  const files = JSON.parse(value.toString("utf8", at + 4, at + 4 + jsonBytes)) as { dids: string[]; bytes: number[] };
  at += 4 + jsonBytes;
  const edges = value.readUInt32LE(at);
  at += 4;
  if (value.length !== at + 4 * (count + 1) + 4 * edges) throw new Error(`the input files of a row index of ${count} rows do not add up (${value.length} bytes)`);
  const start = new Int32Array(count + 1);
  for (let i = 0; i <= count; i++, at += 4) start[i] = value.readInt32LE(at);
  const rows = new Int32Array(edges);
  for (let e = 0; e < edges; e++, at += 4) rows[e] = value.readInt32LE(at);
  return { dids: files.dids, bytes: Float64Array.from(files.bytes), links: { start, rows } };
}
