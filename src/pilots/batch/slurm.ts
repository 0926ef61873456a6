// Slurm behind the BatchSystem interface: sbatch (the job script on stdin,
// the job's environment as sbatch's own, so no secret is on a command line or
// in a file), squeue and scancel, each against the cluster's slurm.conf.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { baseSlurmEnv, slurmCommand } from "../../common/slurm-command.js";
import type { BatchJob, BatchJobState, BatchSystem, PilotJobSpec } from "./batch-system.js";

export interface SlurmBatchOptions {
  /** Path of the cluster's slurm.conf (SLURM_CONF of every command). */
  conf: string;
  /** Time limit of each sbatch/squeue/scancel call (default 15 s). */
  timeoutMs?: number;
}

/** Slurm's job states (squeue %T) as the factory sees them. */
const STATES: Record<string, BatchJobState> = {
  PENDING: "pending",
  CONFIGURING: "pending",
  REQUEUED: "pending",
  REQUEUE_HOLD: "pending",
  REQUEUE_FED: "pending",
  RESV_DEL_HOLD: "pending",
  RUNNING: "running",
  COMPLETING: "running",
  SIGNALING: "running",
  STAGE_OUT: "running",
  RESIZING: "running",
  SUSPENDED: "running",
  STOPPED: "running",
  COMPLETED: "finished",
  CANCELLED: "cancelled",
  PREEMPTED: "cancelled",
  REVOKED: "cancelled",
  FAILED: "failed",
  TIMEOUT: "failed",
  NODE_FAIL: "failed",
  BOOT_FAIL: "failed",
  DEADLINE: "failed",
  OUT_OF_MEMORY: "failed",
  SPECIAL_EXIT: "failed",
};

const JOB_ID = /^\d+(_\d+)?$/;
/** Slurm's own variables are not passed on: sbatch reads SBATCH_* as options, Slurm sets SLURM_* in the job. */
const SLURM_OWN = /^(SLURM_|SBATCH_|SALLOC_|SRUN_)/;

export class SlurmBatch implements BatchSystem {
  readonly kind = "slurm";
  readonly #conf: string;
  readonly #timeoutMs: number;

  constructor(opts: SlurmBatchOptions) {
    this.#conf = opts.conf;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
  }

  async submit(spec: PilotJobSpec): Promise<string> {
    checkSpec(spec);
    mkdirSync(spec.workDir, { recursive: true });
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const args = [
      "--parsable",
      `--job-name=${spec.name}`,
      `--time=${Math.max(1, Math.ceil(spec.walltimeS / 60))}`,
      "--nodes=1",
      "--ntasks=1",
      `--cpus-per-task=${spec.cores}`,
      `--mem=${spec.memoryMB}M`,
      `--output=${spec.logFile}`,
      `--chdir=${spec.workDir}`,
      // sbatch's environment is built here (no variable of this process but PATH and HOME): ALL passes exactly it.
      "--export=ALL",
      ...(spec.partition !== undefined ? [`--partition=${spec.partition}`] : []),
    ];
    const env = { ...baseSlurmEnv(), ...Object.fromEntries(Object.entries(spec.env).filter(([k]) => !SLURM_OWN.test(k))) };
    const out = await slurmCommand("sbatch", args, { conf: this.#conf, timeoutMs: this.#timeoutMs, env, input: jobScript(spec.argv), cwd: spec.workDir });
    // --parsable: "ID" or "ID;CLUSTER".
    const id = /^(\d+)(?:;\S*)?$/.exec(out.trim().split("\n")[0]?.trim() ?? "")?.[1];
    if (id === undefined) throw new OrreryError(ErrorCode.UNAVAILABLE, `sbatch printed no job id: ${JSON.stringify(out.slice(0, 200))}`);
    return id;
  }

  async status(namePrefix: string): Promise<BatchJob[]> {
    // --states=all: finished jobs too, while Slurm still remembers them (MinJobAge).
    const out = await slurmCommand("squeue", ["-h", "--states=all", "-o", "%i|%T|%j"], { conf: this.#conf, timeoutMs: this.#timeoutMs });
    return parseSqueue(out).filter((j) => j.name.startsWith(namePrefix));
  }

  async cancel(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const bad = ids.find((id) => !JOB_ID.test(id));
    if (bad !== undefined) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `not a Slurm job id: ${JSON.stringify(bad)}`);
    // scancel says nothing and exits 0 for a job already gone.
    await slurmCommand("scancel", ids, { conf: this.#conf, timeoutMs: this.#timeoutMs });
  }
}

/** squeue lines `ID|STATE|NAME` (the name last: it may hold `|`); a line of any other shape is skipped. */
export function parseSqueue(out: string): BatchJob[] {
  const jobs: BatchJob[] = [];
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+(?:_\d+)?)\|([A-Z_]+)\|(.*)$/.exec(line);
    if (!m) continue;
    jobs.push({ id: m[1]!, state: STATES[m[2]!] ?? "unknown", name: m[3]! });
  }
  return jobs;
}

/** A POSIX shell script that execs argv, each word single-quoted. */
export function jobScript(argv: string[]): string {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  return `#!/bin/sh\nexec ${argv.map(quote).join(" ")}\n`;
}

function checkSpec(spec: PilotJobSpec): void {
  const bad = (what: string) => new OrreryError(ErrorCode.INVALID_ARGUMENT, `pilot job ${JSON.stringify(spec.name)}: ${what}`);
  if (!/^[\w.+-]+$/.test(spec.name)) throw bad("a job name is letters, digits and . _ + -");
  if (spec.argv.length === 0) throw bad("no command");
  if (spec.argv.some((a) => a.includes("\0"))) throw bad("a NUL in the command");
  if (!Number.isInteger(spec.cores) || spec.cores < 1) throw bad(`cores must be a whole number ≥ 1, not ${spec.cores}`);
  if (!Number.isInteger(spec.memoryMB) || spec.memoryMB < 1) throw bad(`memoryMB must be a whole number ≥ 1, not ${spec.memoryMB}`);
  if (!Number.isFinite(spec.walltimeS) || spec.walltimeS <= 0) throw bad(`walltime must be > 0 s, not ${spec.walltimeS}`);
  if (spec.partition !== undefined && !/^[\w.-]+$/.test(spec.partition)) throw bad(`not a partition name: ${JSON.stringify(spec.partition)}`);
  const name = Object.keys(spec.env).find((k) => k === "" || k.includes("=") || k.includes("\0"));
  if (name !== undefined) throw bad(`not an environment variable name: ${JSON.stringify(name)}`);
  if (Object.values(spec.env).some((v) => typeof v !== "string" || v.includes("\0"))) throw bad("an environment value that is not text, or holds a NUL");
}
