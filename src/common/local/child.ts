import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { ErrorCode, OrreryError } from "../errors.js";

export type Readiness =
  | { kind: "ipc" } // the child calls signalReady()
  | { kind: "tcp"; port: number }
  | { kind: "probe"; probe: () => Promise<boolean> };

export interface ServiceSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  readiness: Readiness;
  timeoutMs?: number;
}

export interface StartedService {
  name: string;
  pid: number;
  process: ChildProcess;
  ready: Record<string, unknown>;
}

/**
 * Starts a long-running child with its output in a log file, detached so it
 * outlives the launcher, and resolves once it is ready. A child that exits
 * first, or is not ready in time, is killed and reported with its log's tail.
 */
export async function startService(spec: ServiceSpec): Promise<StartedService> {
  const log = openSync(spec.logFile, "a");
  const ipc = spec.readiness.kind === "ipc";
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    stdio: ipc ? ["ignore", log, log, "ipc"] : ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  const timeoutMs = spec.timeoutMs ?? 30_000;
  try {
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, info: Record<string, unknown> = {}) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off("exit", onExit);
        if (err) reject(err);
        else resolve(info);
      };
      const onExit = (code: number | null, signal: string | null) =>
        finish(failure(spec, `exited (${signal ?? `code ${String(code)}`}) before it was ready`));
      const timer = setTimeout(() => finish(failure(spec, `was not ready within ${timeoutMs / 1000}s`)), timeoutMs);
      child.on("exit", onExit);
      child.on("error", (err) => finish(failure(spec, `could not start: ${err.message}`)));
      if (spec.readiness.kind === "ipc") {
        child.on("message", (msg: unknown) => {
          if (typeof msg === "object" && msg !== null && (msg as { type?: unknown }).type === "ready") {
            finish(null, msg as Record<string, unknown>);
          }
        });
      } else {
        const probe = spec.readiness.kind === "tcp" ? tcpProbe(spec.readiness.port) : spec.readiness.probe;
        pollUntil(probe, () => settled).then(
          (ok) => ok && finish(null),
          (err: unknown) => finish(failure(spec, `readiness check failed: ${err instanceof Error ? err.message : String(err)}`)),
        );
      }
    });
    child.unref();
    if (ipc) child.channel?.unref();
    return { name: spec.name, pid: child.pid ?? 0, process: child, ready };
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
}

function failure(spec: ServiceSpec, what: string): OrreryError {
  let tail = "";
  try {
    tail = readFileSync(spec.logFile, "utf8").trim().split("\n").slice(-5).join("\n  ");
  } catch {
    // no log yet
  }
  return new OrreryError(ErrorCode.UNAVAILABLE, `${spec.name} ${what}${tail ? `; its log ends:\n  ${tail}` : ""}`, {
    hint: `see ${spec.logFile}`,
  });
}

async function pollUntil(probe: () => Promise<boolean>, stop: () => boolean): Promise<boolean> {
  while (!stop()) {
    if (await probe().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export function tcpProbe(port: number, host = "127.0.0.1"): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const sock = connect({ port, host });
      sock.once("connect", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
    });
}

/** Is a process with this pid alive? A zombie (exited, not yet reaped by its new parent) is not. */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc here: trust kill(0)
  }
}

/** SIGTERM the process (group), then SIGKILL after `graceMs`; resolves when it is gone. */
export async function stopProcess(pid: number, graceMs = 5000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  if (!isAlive(pid)) return;
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) signal("SIGKILL");
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
}
