// A lease's scratch directory: the payload's working directory, with its
// inputs, quantum.json, the outputs it writes and the logs of its run.
import { mkdir, open, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { compareDataIds, parseDataId, type DataId } from "../../common/data-id.js";
import { parseDid } from "../../common/did.js";
import type { FileRef } from "../../gen/orrery/v1/common_pb.js";
import type { Lease } from "../../gen/orrery/v1/agent_link_pb.js";
import type { LocalDataset } from "./templates.js";

export interface ScratchDir {
  dir: string;
  inputsDir: string;
  quantumPath: string;
  stdoutPath: string;
  stderrPath: string;
  metricsPath: string;
}

/** Where a lease's scratch directory lives under the agent's work dir. */
export function scratchDirOf(workDir: string, leaseId: string): string {
  return join(workDir, "leases", leaseId.replace(/[^A-Za-z0-9._-]/g, "_"));
}

export async function createScratch(workDir: string, leaseId: string): Promise<ScratchDir> {
  const dir = scratchDirOf(workDir, leaseId);
  const inputsDir = join(dir, "inputs");
  const logs = join(dir, "logs");
  // A fresh directory; one left by an earlier run of the same lease is emptied first (rare: one mkdir is the usual cost).
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") await rm(dir, { recursive: true, force: true });
    if (code !== "EEXIST" && code !== "ENOENT") throw err;
    await mkdir(dir, { recursive: true });
  }
  await Promise.all([mkdir(inputsDir), mkdir(logs)]);
  return {
    dir,
    inputsDir,
    quantumPath: join(dir, "quantum.json"),
    stdoutPath: join(logs, "stdout.txt"),
    stderrPath: join(logs, "stderr.txt"),
    metricsPath: join(dir, "metrics.json"),
  };
}

export async function removeScratch(scratch: ScratchDir): Promise<void> {
  await rm(scratch.dir, { recursive: true, force: true });
}

/** File name of a DID in a directory: the last segment of its name, made unique with a counter when taken. */
function localPaths(refs: readonly FileRef[], dir: string): string[] {
  const taken = new Set<string>();
  return refs.map((ref, i) => {
    let file = basename(parseDid(ref.did).name) || `file-${i}`;
    if (taken.has(file)) file = `${i}-${file}`;
    taken.add(file);
    return join(dir, file);
  });
}

export function inputPaths(lease: Lease, scratch: ScratchDir): string[] {
  return localPaths(lease.inputs, scratch.inputsDir);
}

/** Outputs are written straight into the scratch directory, under their name's last segment. */
export function outputPaths(lease: Lease, scratch: ScratchDir): string[] {
  return localPaths(lease.outputs, scratch.dir);
}

/** Datasets grouped by role, each role in data-id order. */
export function byRole(refs: readonly FileRef[], paths: readonly string[]): Record<string, LocalDataset[]> {
  const roles: Record<string, LocalDataset[]> = {};
  refs.forEach((ref, i) => {
    (roles[ref.role] ??= []).push({ did: ref.did, path: paths[i]!, dataId: parseDataId(ref.dataId) });
  });
  for (const list of Object.values(roles)) list.sort((a, b) => compareDataIds(a.dataId, b.dataId));
  return roles;
}

export interface QuantumDocument {
  quantum: string;
  campaign: string;
  task: string;
  attempt: number;
  dataId: DataId;
  config: Record<string, unknown>;
  inputs: Record<string, LocalDataset[]>;
  outputs: Record<string, LocalDataset[]>;
}

export async function writeQuantumFile(path: string, doc: QuantumDocument): Promise<void> {
  await writeFile(path, `${JSON.stringify(doc, null, 2)}\n`);
}

/** The resolved config of the lease; an unreadable one is an empty object. */
export function parseConfig(json: string): Record<string, unknown> {
  if (json === "") return {};
  const value: unknown = JSON.parse(json);
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

const TAIL_BYTES = 64 * 1024;

/** The last 64 KiB of a log file (empty when absent). */
export async function tailOf(path: string): Promise<string> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await fh.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, size - length);
    // A cut through a multi-byte character would decode to U+FFFD; drop it.
    return buf.toString("utf8").replace(/^\uFFFD+/, "");
  } finally {
    await fh.close();
  }
}
