// Runs a payload as a real child process in its own process group, with its
// output in files, soft/hard time limits, a memory limit watched from /proc
// and a disk limit on its scratch directory.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { watchDisk, type DiskLimits, type DiskOverrun } from "./disk-watch.js";
import { sampleProcessTree } from "./process-tree.js";

export interface PayloadSpec {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdoutPath: string;
  stderrPath: string;
  /** SIGTERM after this long (0: none). */
  softTimeLimitMs: number;
  /** SIGKILL after this long (0: none). */
  hardTimeLimitMs: number;
  /** SIGKILL when the tree's resident memory exceeds this (0: none). */
  memoryLimitBytes: number;
  /** Aborting kills the payload (cancelled lease, agent shutting down). */
  signal?: AbortSignal;
  sampleIntervalMs?: number;
  /** SIGKILL when its scratch outgrows its limit or the node's disk runs low (none: not watched). */
  disk?: DiskLimits;
  /**
   * Called once the payload's process group exists (its leader's pid), and
   * awaited before the run is reported: the agent journals the group so a
   * successor can kill it if the agent dies first.
   */
  onGroup?: (pgid: number) => Promise<void> | void;
}

/** Why the payload ended: on its own, or stopped by the agent. */
export type PayloadEnd = "exited" | "soft_timeout" | "timeout" | "out_of_memory" | "out_of_disk" | "aborted" | "spawn_error";

export interface PayloadRun {
  end: PayloadEnd;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  startMs: number;
  endMs: number;
  peakRssBytes: number;
  cpuSeconds: number;
  /** Set for spawn_error: why the program could not start. */
  error?: string;
  /** Set for out_of_disk: what the disk watch found. */
  disk?: DiskOverrun;
}

const FIRST_SAMPLE_MS = 50;

export async function runPayload(spec: PayloadSpec): Promise<PayloadRun> {
  const startMs = Date.now();
  const [program, ...args] = spec.argv;
  const out = openSync(spec.stdoutPath, "w");
  const err = openSync(spec.stderrPath, "w");
  let child;
  try {
    child = spawn(program ?? "", args, { cwd: spec.cwd, env: spec.env, stdio: ["ignore", out, err], detached: true });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  let end: PayloadEnd = "exited";
  let peakRss = 0;
  let cpuSeconds = 0;
  const pid = child.pid;
  // The payload leads its own process group: signals reach every process it started.
  const killGroup = (sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    }
  };
  const stopWith = (why: PayloadEnd, sig: NodeJS.Signals) => {
    if (end === "exited" || (end === "soft_timeout" && why !== "soft_timeout")) end = why;
    killGroup(sig);
  };

  const timers: NodeJS.Timeout[] = [];
  if (spec.softTimeLimitMs > 0) timers.push(setTimeout(() => stopWith("soft_timeout", "SIGTERM"), spec.softTimeLimitMs));
  if (spec.hardTimeLimitMs > 0) timers.push(setTimeout(() => stopWith("timeout", "SIGKILL"), spec.hardTimeLimitMs));
  let overrun: DiskOverrun | undefined;
  const diskWatch =
    spec.disk && pid !== undefined
      ? watchDisk(spec.disk, (o) => {
          overrun = o;
          stopWith("out_of_disk", "SIGKILL");
        })
      : undefined;
  const onAbort = () => stopWith("aborted", "SIGKILL");
  if (spec.signal?.aborted) onAbort();
  spec.signal?.addEventListener("abort", onAbort, { once: true });

  let sampling = false;
  const sample = async () => {
    if (pid === undefined || sampling) return;
    sampling = true;
    try {
      const s = await sampleProcessTree(pid);
      if (s.pids.length === 0) return;
      peakRss = Math.max(peakRss, s.rssBytes, s.hwmBytes);
      cpuSeconds = Math.max(cpuSeconds, s.cpuSeconds);
      if (spec.memoryLimitBytes > 0 && s.rssBytes > spec.memoryLimitBytes) stopWith("out_of_memory", "SIGKILL");
    } finally {
      sampling = false;
    }
  };
  // The first sample waits a little: most short payloads are over by then, and cost no /proc reads at all.
  const every = spec.sampleIntervalMs ?? 200;
  // A sample fails when the tree ends between /proc reads: the next one (or the exit) tells.
  const trySample = () => {
    sample().catch(() => undefined);
  };
  const poller = setInterval(trySample, every);
  const first = setTimeout(trySample, Math.min(FIRST_SAMPLE_MS, every));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: string }>((resolve) => {
    child.once("error", (e) => resolve({ code: null, signal: null, error: e.message }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  // A journal that cannot record the group does not stop the run: it only loses the orphan kill after a crash.
  const recorded = pid !== undefined && spec.onGroup ? Promise.resolve(spec.onGroup(pid)).catch(() => undefined) : Promise.resolve();
  const result = await exited;
  await recorded;
  diskWatch?.stop();
  clearInterval(poller);
  clearTimeout(first);
  for (const t of timers) clearTimeout(t);
  spec.signal?.removeEventListener("abort", onAbort);
  // Helpers the payload left behind die with it.
  killGroup("SIGKILL");

  const run: PayloadRun = {
    end: result.error !== undefined ? "spawn_error" : end,
    exitCode: result.code,
    signal: result.signal,
    startMs,
    endMs: Date.now(),
    peakRssBytes: peakRss,
    cpuSeconds,
  };
  if (result.error !== undefined) run.error = result.error;
  if (run.end === "out_of_disk" && overrun) run.disk = overrun;
  return run;
}
