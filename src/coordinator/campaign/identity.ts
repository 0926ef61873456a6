// Quantum identity: what a quantum computes, as a hash. Two quanta with the
// same identity read the same bytes through the same command and config, so
// one's outputs stand for the other's (resume and dedup). Pure, no I/O.
import { createHash } from "node:crypto";
import { dataIdKey, type DataId } from "../../common/data-id.js";
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
  const text = canonicalJson({
    v: 1,
    task: parts.task,
    config: parts.config,
    dataId: dataIdKey(parts.dataId),
    command: parts.command,
    inputs: parts.inputs.map(({ role, token }) => [role, "md5" in token ? `md5:${token.md5}` : `q:${token.producer}/${token.datasetType}`]),
  });
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/**
 * Identities of every quantum of a planned graph, in its order. Inputs made by
 * an upstream quantum of the graph enter by that quantum's identity (a Merkle
 * chain), so every identity is known before anything runs. `madeBy` names the
 * identity of the quantum that made a catalog file of this campaign (a
 * deferred task's inputs), so those enter the same way.
 */
export function graphIdentities(spec: CampaignSpec, graph: PlannedGraph, madeBy?: (did: string) => string | undefined): string[] {
  const tasks = new Map(spec.tasks.map((t) => [t.name, t]));
  const out: string[] = [];
  for (const q of graph.quanta) {
    const task = tasks.get(q.task);
    const inputs = q.inputs.map(({ role, dataset: d }): { role: string; token: InputToken } => {
      if (d.producer !== undefined) {
        const producer = out[d.producer];
        // Graph order is topological: a producer always comes first.
        if (producer === undefined) throw new Error(`quantum ${out.length} of the plan reads from quantum ${d.producer}, which comes after it`);
        return { role, token: { producer, datasetType: d.datasetType } };
      }
      const maker = madeBy?.(d.did);
      if (maker !== undefined) return { role, token: { producer: maker, datasetType: d.datasetType } };
      return { role, token: { md5: d.file?.md5 ?? "" } };
    });
    out.push(quantumIdentity({ task: q.task, config: task?.config ?? {}, dataId: q.dataId, command: task?.command ?? [], inputs }));
  }
  return out;
}
