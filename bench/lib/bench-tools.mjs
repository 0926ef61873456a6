// What the cluster benches share: messages on stderr, a clean refusal of bad
// arguments, and the real CLI as a child process.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const ORRERY_BIN = fileURLToPath(new URL("../../bin/orrery.mjs", import.meta.url));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `say` prints a progress line; `fail` prints why and exits 2 (bad usage). */
export function messages(bench) {
  return {
    say: (m) => process.stderr.write(`${bench}: ${m}\n`),
    fail(message) {
      process.stderr.write(`${bench}: ${message}\n`);
      process.exit(2);
    },
  };
}

/** Runs the CLI; resolves to its stdout, rejects with its stderr. */
export function cli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ORRERY_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`orrery ${args.join(" ")} exited ${code}: ${err}`))));
  });
}

/**
 * Parses `--flag` and `--name N` arguments against `defaults`: a boolean
 * default makes a flag, a number one a positive whole number (`1_000` allowed).
 * Anything else exits 2 with the usage line.
 */
export function parseBenchArgs(bench, argv, defaults) {
  const { fail } = messages(bench);
  const opts = { ...defaults };
  const usage = Object.entries(defaults)
    .map(([k, v]) => `[--${k}${typeof v === "number" ? " N" : ""}]`)
    .join(" ");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const key = a.startsWith("--") ? a.slice(2) : "";
    if (!(key in defaults)) fail(`unknown argument ${a}; usage: npm run bench -- ${bench} ${usage}`);
    if (typeof defaults[key] === "boolean") opts[key] = true;
    else {
      const v = Number(argv[++i]?.replaceAll("_", ""));
      if (!Number.isInteger(v) || v <= 0) fail(`${a} takes a positive whole number`);
      opts[key] = v;
    }
  }
  return opts;
}

/** Runs `work(i)` for i < n, `concurrency` at a time; resolves to the seconds it took. */
export async function pool(n, concurrency, work) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await work(next++);
    }),
  );
  return (performance.now() - t0) / 1000;
}
