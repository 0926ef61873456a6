// The provenance record of one attempt of a quantum: where and how it ran,
// on what inputs, with what config, producing which outputs.
import { readFile } from "node:fs/promises";
import type { DataId } from "../common/data-id.js";

export interface ProvenanceInput {
  did: string;
  role: string;
  bytes: number;
  adler32: string;
  md5: string;
  /** "cache" or the RSE the bytes came from. */
  source: string;
}

export interface ProvenanceOutput {
  did: string;
  role: string;
  rse: string;
  bytes: number;
  adler32: string;
  md5: string;
}

export interface ProvenanceRecord {
  quantum: string;
  campaign: string;
  task: string;
  attempt: number;
  dataId: DataId;
  host: string;
  agentId: string;
  site: string;
  kind: string;
  start: string;
  end: string;
  cpuSeconds: number;
  peakRssBytes: number;
  exitCode: number | null;
  signal: string | null;
  outcome: string;
  command: string[];
  config: Record<string, unknown>;
  environment: Record<string, string>;
  inputs: ProvenanceInput[];
  outputs: ProvenanceOutput[];
  metrics: unknown;
}

const KEPT_NAMES = new Set(["PATH", "HOME", "LANG", "LC_ALL", "TZ"]);
const SECRET = /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|KEY/i;

/** The payload's environment as provenance keeps it: a known set of names, never secrets. */
export function filterEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value === undefined) continue;
    const wanted = KEPT_NAMES.has(name) || name.startsWith("NODE_") || name.startsWith("ORRERY_");
    if (wanted && !SECRET.test(name)) kept[name] = value;
  }
  return kept;
}

/** The agent's environment without its own secrets (the agent token, server passwords): payloads are not trusted with them. */
export function payloadEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!(name.startsWith("ORRERY_") && SECRET.test(name))) out[name] = value;
  return out;
}

/** The payload's optional quality record; absent → null, unreadable → a note saying so. */
export async function readMetrics(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: "metrics.json is not valid JSON", bytes: Buffer.byteLength(text) };
  }
}
