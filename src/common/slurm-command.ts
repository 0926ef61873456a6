// Slurm's client commands (sbatch, squeue, scancel, sinfo, scontrol) run
// against one cluster's slurm.conf, with a time limit, their failures turned
// into OrreryErrors that carry the command's own words.
import { execFile } from "node:child_process";
import { ErrorCode, OrreryError } from "./errors.js";

export interface SlurmCommandOptions {
  /** Path of the cluster's slurm.conf (SLURM_CONF of the command). */
  conf: string;
  timeoutMs?: number;
  /** The command's whole environment besides SLURM_CONF (default: PATH and HOME of this process only). */
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin (sbatch reads its job script there). */
  input?: string;
  cwd?: string;
}

/** A minimal environment: a Slurm command gets no secret of this process by accident (sbatch would pass it on to the job). */
export function baseSlurmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" };
  for (const name of ["HOME", "LANG", "TZ"]) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

/** Runs `command args` and resolves to its stdout; rejects with UNAVAILABLE naming the command and its stderr. */
export function slurmCommand(command: string, args: string[], opts: SlurmCommandOptions): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const env = { ...(opts.env ?? baseSlurmEnv()), SLURM_CONF: opts.conf };
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env, cwd: opts.cwd, timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (!err) {
        resolve(stdout);
        return;
      }
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
      const what =
        e.code === "ENOENT"
          ? "is not installed"
          : e.killed === true
            ? `gave no answer within ${timeoutMs / 1000}s`
            : `failed (${typeof e.code === "number" ? `exit ${e.code}` : String(e.code ?? e.message)})`;
      const detail = stderr.trim().split("\n").slice(-5).join("; ");
      reject(
        new OrreryError(e.code === "ENOENT" ? ErrorCode.MISSING_BINARY : ErrorCode.UNAVAILABLE, `${command} ${what}${detail ? `: ${detail}` : ""}`, {
          cause: err,
          hint:
            e.code === "ENOENT"
              ? "run `npm run setup -- --tests` (or `apt-get install -y slurm-wlm munge`)"
              : `Slurm's own words are above; check it with \`SLURM_CONF=${opts.conf} sinfo\``,
        }),
      );
    });
    child.stdin?.on("error", () => undefined); // a command that exits before reading its input
    child.stdin?.end(opts.input ?? "");
  });
}
