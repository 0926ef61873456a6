// Quantum definitions in Redis: hash field `<quantum id>` → the definition as
// a JSON tuple (DefinitionEncoder). One field per quantum, so a lease, a listing
// or a deferred expansion reads exactly the quanta it needs. Written as plain
// HSET commands of a few dozen kilobytes each, many in flight: each command's
// text stays a small, short-lived string (a pipeline of megabytes is one large
// string that V8 keeps until a full collection — a gigabyte at a million quanta).
import type { Redis } from "ioredis";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { redisWriteError } from "../../common/redis-replies.js";
import type { DataId } from "../../common/data-id.js";
import type { QuantumDefinition, QuantumInput, QuantumOutput } from "../workload/index.js";

/** Characters of definition JSON per HSET. */
const COMMAND_CHARS = 48 * 1024;
/** HSET commands in flight at once. */
const WINDOW = 16;
/** Fields per HMGET when reading. */
const READ_BATCH = 1000;

type Metadata = Record<string, unknown>;
type InputTuple = [string, string, string, DataId, Metadata, string | null, number?, string?, string?, string[]?];
type OutputTuple = [string, string, string, DataId, Metadata];
/** What a stored definition parses to. */
type DefinitionTuple = [DataId, string, InputTuple[], OutputTuple[], string[]];

/**
 * A definition's stored form: id, campaign and task are in the field name.
 * The same as JSON.stringify of the DefinitionTuple, written piece by piece:
 * data ids and metadata are shared objects (a quantum's output data id is its
 * input's, neighbouring quanta read the same calibration), so their JSON is
 * kept for the last few objects seen rather than made again.
 */
export class DefinitionEncoder {
  private readonly seen: object[] = [];
  private readonly text: string[] = [];
  private next = 0;

  encode(d: QuantumDefinition): string {
    let out = `[${this.json(d.dataId)},${JSON.stringify(d.identity)},[`;
    for (let k = 0; k < d.inputs.length; k++) {
      const i = d.inputs[k]!;
      out += `${k === 0 ? "" : ","}[${JSON.stringify(i.role)},${JSON.stringify(i.did)},${JSON.stringify(i.datasetType)},${this.json(i.dataId)},${this.json(i.metadata)},${i.producer === undefined ? "null" : JSON.stringify(i.producer)}`;
      if (i.bytes !== undefined) out += `,${JSON.stringify(i.bytes)},${JSON.stringify(i.adler32 ?? "")},${JSON.stringify(i.md5 ?? "")},${this.json(i.rses ?? [])}`;
      out += "]";
    }
    out += "],[";
    for (let k = 0; k < d.outputs.length; k++) {
      const o = d.outputs[k]!;
      out += `${k === 0 ? "" : ","}[${JSON.stringify(o.role)},${JSON.stringify(o.did)},${JSON.stringify(o.datasetType)},${this.json(o.dataId)},${this.json(o.metadata)}]`;
    }
    return `${out}],${JSON.stringify(d.upstream)}]`;
  }

  /** JSON of a shared object, from the last RECENT objects encoded when it is one of them. */
  private json(v: object): string {
    for (let k = 0; k < this.seen.length; k++) if (this.seen[k] === v) return this.text[k]!;
    const text = JSON.stringify(v);
    this.seen[this.next] = v;
    this.text[this.next] = text;
    this.next = (this.next + 1) % RECENT;
    return text;
  }
}

/** Shared objects whose JSON an encoder keeps. */
const RECENT = 8;

/** A stored definition back, for quantum `id` (`<campaign>.<task>.<seq>`). */
export function parseDefinition(id: string, json: string): QuantumDefinition {
  const [dataId, identity, inputs, outputs, upstream] = JSON.parse(json) as DefinitionTuple;
  const dot = id.indexOf(".");
  return {
    id,
    campaign: id.slice(0, dot),
    task: id.slice(dot + 1, id.lastIndexOf(".")),
    dataId,
    identity,
    inputs: inputs.map(([role, did, datasetType, dataId, metadata, producer, bytes, adler32, md5, rses]) => {
      const input: QuantumInput = { role, did, datasetType, dataId, metadata };
      if (producer !== null) input.producer = producer;
      if (bytes !== undefined) Object.assign(input, { bytes, adler32, md5, rses });
      return input;
    }),
    outputs: outputs.map(([role, did, datasetType, dataId, metadata]): QuantumOutput => ({ role, did, datasetType, dataId, metadata })),
    upstream,
  };
}

/** Writes `count` definitions (id and stored JSON of each by index) as HSETs on `key`. */
export async function writeDefinitions(redis: Redis, key: string, count: number, id: (i: number) => string, json: (i: number) => string): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  for (let i = 0; i < count; ) {
    const args: string[] = [];
    let chars = 0;
    for (; i < count && chars < COMMAND_CHARS; i++) {
      const value = json(i);
      args.push(id(i), value);
      chars += value.length;
    }
    const p: Promise<void> = redis.hset(key, ...args).then(
      () => void inFlight.delete(p),
      (err: unknown) => {
        failure ??= err;
        inFlight.delete(p);
      },
    );
    inFlight.add(p);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
    if (failure !== undefined) break;
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw redisWriteError(failure);
}

/** The definitions of the given quanta, in that order; a missing one is damage, not absence. */
export async function readDefinitions(redis: Redis, key: string, ids: readonly string[]): Promise<QuantumDefinition[]> {
  const out: QuantumDefinition[] = [];
  for (let i = 0; i < ids.length; i += READ_BATCH) {
    const batch = ids.slice(i, i + READ_BATCH);
    const values = batch.length === 0 ? [] : await redis.hmget(key, ...batch);
    values.forEach((v, j) => {
      if (v === null) {
        throw new OrreryError(ErrorCode.INTERNAL, `the definition of quantum ${batch[j]!} is missing from Redis (${key})`, {
          hint: "the campaign's stored state is damaged; delete it from Redis and submit it again",
        });
      }
      out.push(parseDefinition(batch[j]!, v));
    });
  }
  return out;
}

/** ioredis reports a failed command of a pipeline or transaction in its reply, not by rejecting: this throws it. */
