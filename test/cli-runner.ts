import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const ORRERY_BIN = fileURLToPath(new URL("../bin/orrery.mjs", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a child process, as a user would. */
export function orrery(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ORRERY_BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`orrery ${args.join(" ")} did not finish in ${opts.timeoutMs ?? 120_000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Runs the CLI with --json and parses its stdout, failing loudly with stderr when it did not exit 0. */
export async function orreryJson<T>(args: string[], opts: Parameters<typeof orrery>[1] = {}): Promise<T> {
  const r = await orrery([...args, "--json"], opts);
  if (r.code !== 0) throw new Error(`orrery ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/**
 * Runs `orrery ARGS | READER` through a real shell pipe; `code` is orrery's
 * own exit code, `stderr` its stderr only. `true` as the reader closes the
 * pipe before the CLI writes anything, so every write meets EPIPE.
 */
export function orreryIntoPipe(args: string[], reader = "true", opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number; stderr: string }> {
  const quoted = [process.execPath, ORRERY_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  // orrery's exit code goes to fd 3 (the pipe's other end cannot report it).
  const script = `{ ${quoted} 2>&4; echo $? >&3; } | ${reader} >/dev/null`;
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", `exec 3>&1 4>&2; ${script}`], { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", () => resolve({ code: Number(out.trim()), stderr }));
  });
}
