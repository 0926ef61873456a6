#!/usr/bin/env node
// `npm run bench -- NAME [ARGS…]`: runs bench/NAME.mjs (or bench/NAME/index.mjs)
// in its own node process with the remaining arguments (e.g. --json), and exits
// with its exit code. An unknown or missing NAME lists the benches and exits 2.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

/** Every runnable bench: NAME.mjs files beside this runner and folders holding an index.mjs. */
function availableBenches() {
  const names = [];
  for (const entry of readdirSync(BENCH_DIR, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".mjs") && entry.name !== "run.mjs") names.push(entry.name.slice(0, -4));
    else if (entry.isDirectory() && existsSync(join(BENCH_DIR, entry.name, "index.mjs"))) names.push(entry.name);
  }
  return names.sort();
}

function entryOf(name) {
  if (!/^[A-Za-z0-9][\w-]*$/.test(name)) return undefined;
  for (const candidate of [join(BENCH_DIR, `${name}.mjs`), join(BENCH_DIR, name, "index.mjs")]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function usage(problem) {
  const names = availableBenches();
  process.stderr.write(`bench: ${problem}\n`);
  process.stderr.write(
    names.length === 0
      ? "  no benches exist yet (add bench/NAME.mjs or bench/NAME/index.mjs)\n"
      : `  available: ${names.join(", ")}\n  usage: npm run bench -- NAME [--json]\n`,
  );
  process.exit(2);
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name.startsWith("-")) usage("name the bench to run");
const entry = entryOf(name);
if (entry === undefined) usage(`no bench named ${name}`);

// The AWS SDK's notice about future Node versions is not a bench figure.
const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...process.env };
const child = spawn(process.execPath, [entry, ...args], { stdio: "inherit", env });
// Forward Ctrl-C and termination so the bench can stop the servers it started.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("error", (err) => {
  process.stderr.write(`bench: cannot start ${name}: ${err.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal === "SIGINT" ? 130 : 1));
});
