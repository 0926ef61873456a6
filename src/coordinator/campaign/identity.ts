// Quantum identity: what a quantum computes, as a hash. Two quanta with the
// same identity read the same bytes through the same command and config, so
// one's outputs stand for the other's (resume and dedup). Pure, no I/O.
import { createHash, type Hash } from "node:crypto";
import type { DataId } from "../../common/data-id.js";
import { canonicalDataIdJson } from "./data-id-keys.js";
import type { PlannedGraph } from "./graph.js";
import type { CampaignSpec } from "./spec.js";

/** An input enters an identity by its content (a catalog file's md5) or by the identity of the quantum that makes it. */
export type InputToken = { md5: string } | { producer: string; datasetType: string };

export interface IdentityParts {
  task: string;
  config: Record<string, unknown>;
  dataId: DataId;
  command: readonly string[];
  inputs: readonly { role: string; token: InputToken }[];
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}

/** sha256 (hex, 32 characters) of the canonical form of a quantum's parts. */
export function quantumIdentity(parts: IdentityParts): string {
  return new TaskHasher(parts.task, parts.config, parts.command).identity(parts.dataId, parts.inputs);
}

/**
 * The canonical text of a quantum is
 *   canonicalJson({v: 1, task, config, dataId: dataIdKey(dataId), command, inputs: [[role, token]…]})
 * whose sorted keys put command and config (the same for every quantum of a
 * task) first. That prefix is canonicalised and hashed once per task; each
 * quantum hashes on from a copy of it. The text, hence the hash, is the same
 * as hashing the whole canonical form.
 */
class TaskHasher {
  private readonly base: Hash;
  private readonly tail: string;

  constructor(task: string, config: Record<string, unknown>, command: readonly string[]) {
    this.base = createHash("sha256").update(`{"command":${canonicalJson(command)},"config":${canonicalJson(config)},"dataId":`);
    this.tail = `,"task":${JSON.stringify(task)},"v":1}`;
  }

  identity(dataId: DataId, inputs: readonly { role: string; token: InputToken }[]): string {
    let list = "";
    for (const { role, token } of inputs) list = addInput(list, role, "md5" in token ? `md5:${token.md5}` : `q:${token.producer}/${token.datasetType}`);
    return this.finish(dataId, list);
  }

  /** The identity of a quantum whose inputs, written by addInput, are `list`. */
  finish(dataId: DataId, list: string): string {
    return this.digest(dataId, list).toString("hex", 0, IDENTITY_BYTES);
  }

  /** The whole sha256 of that text; an identity is its first IDENTITY_BYTES. */
  digest(dataId: DataId, list: string): Buffer {
    return this.base.copy().update(`${JSON.stringify(canonicalDataIdJson(dataId))},"inputs":[${list}]${this.tail}`).digest();
  }
}

/** `list` with one more `[role, token]` pair, as canonicalJson writes it. */
function addInput(list: string, role: string, token: string): string {
  return `${list === "" ? "" : `${list},`}[${JSON.stringify(role)},${JSON.stringify(token)}]`;
}

/** Bytes of an identity: the first 16 of the sha256 (32 hex characters). */
export const IDENTITY_BYTES = 16;

/** The `i`th identity of a column of IDENTITY_BYTES each, as hex. */
export function identityHex(column: Uint8Array, i: number): string {
  return Buffer.from(column.buffer, column.byteOffset + i * IDENTITY_BYTES, IDENTITY_BYTES).toString("hex");
}

/**
 * Identities of every quantum of a planned graph, in its order, as
 * IDENTITY_BYTES raw bytes each (a million hex strings would be a hundred
 * megabytes of heap). Inputs made by an upstream quantum of the graph enter by
 * that quantum's identity (a Merkle chain), so every identity is known before
 * anything runs. `madeBy` names the identity of the quantum that made a
 * catalog file of this campaign (a deferred task's inputs), so those enter the
 * same way.
 */
export function graphIdentityBytes(spec: CampaignSpec, graph: PlannedGraph, madeBy?: (did: string) => string | undefined): Uint8Array {
  const hashers = new Map(spec.tasks.map((t) => [t.name, new TaskHasher(t.name, t.config, t.command)]));
  const out = new Uint8Array(graph.quanta.length * IDENTITY_BYTES);
  graph.quanta.forEach((q, index) => {
    let hasher = hashers.get(q.task);
    if (!hasher) hashers.set(q.task, (hasher = new TaskHasher(q.task, {}, [])));
    // The inputs' tokens go straight into the text (as TaskHasher.identity writes them), without a token object each.
    let list = "";
    for (const { role, dataset: d } of q.inputs) {
      let token: string;
      if (d.producer !== undefined) {
        // Graph order is topological: a producer always comes first.
        if (d.producer >= index) throw new Error(`quantum ${index} of the plan reads from quantum ${d.producer}, which comes after it`);
        token = `q:${identityHex(out, d.producer)}/${d.datasetType}`;
      } else {
        const maker = madeBy?.(d.did);
        token = maker !== undefined ? `q:${maker}/${d.datasetType}` : `md5:${d.file?.md5 ?? ""}`;
      }
      list = addInput(list, role, token);
    }
    hasher.digest(q.dataId, list).copy(out, index * IDENTITY_BYTES, 0, IDENTITY_BYTES);
  });
  return out;
}
