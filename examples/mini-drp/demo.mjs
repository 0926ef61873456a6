#!/usr/bin/env node
// `npm run demo`: the mini-drp campaign end to end through the real CLI —
// a local cluster (reused when one is running), generated HSC-like data,
// ingest, submit --wait, then where the coadds are. Exits with the campaign's
// result: 0 only if it SUCCEEDED.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "./generate.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DIR = ".orrery";
const CLUSTER_FILE = join(DIR, "cluster.json");
const DATA_DIR = join(DIR, "mini-drp-data");
const MANIFEST = join(DATA_DIR, "manifest.jsonl");
const INGESTED = join(DATA_DIR, "ingested.json");
const CAMPAIGN_FILE = "examples/mini-drp/campaign.yaml";
const CAMPAIGN = "mini-drp";
const INPUT_RSE = "site-a-disk";

/** Children find this cluster and no other, whatever the caller's environment says. */
/** @type {NodeJS.ProcessEnv} */
const childEnv = { ...process.env, ORRERY_CLUSTER: resolve(ROOT, CLUSTER_FILE) };
delete childEnv["ORRERY_COORDINATOR"];
delete childEnv["ORRERY_NATS"];

/** @param {string} text */
const say = (text) => process.stdout.write(`${text}\n`);
/** @param {string} text */
const step = (text) => say(`\n== ${text}`);

/**
 * Runs `orrery ARGS…`. Shown commands inherit the terminal; captured ones
 * return stdout (their stderr still reaches the user).
 * @param {string[]} args @param {{capture?: boolean}} [opts]
 * @returns {{status: number, stdout: string}}
 */
function orrery(args, opts = {}) {
  const res = spawnSync(process.execPath, ["bin/orrery.mjs", ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: opts.capture ? ["ignore", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) throw res.error;
  // A child killed by a signal (Ctrl-C) has no status: treat it as a failure.
  return { status: res.status ?? 1, stdout: res.stdout ?? "" };
}

/** Runs a command with --json and parses its stdout; exits the demo if it fails. @param {string[]} args */
function orreryJson(args) {
  const res = orrery([...args, "--json"], { capture: true });
  if (res.status !== 0) fail(`\`orrery ${args.join(" ")}\` exited ${res.status}`, res.status);
  try {
    return JSON.parse(res.stdout);
  } catch {
    return fail(`\`orrery ${args.join(" ")} --json\` did not print JSON:\n${res.stdout.slice(0, 500)}`, 1);
  }
}

/** @param {string} message @param {number} code @returns {never} */
function fail(message, code) {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(code === 0 ? 1 : code);
}

/** Reuses a live local cluster; otherwise starts one (clearing a half-dead one first). Returns true if reused. */
function ensureCluster() {
  if (existsSync(join(ROOT, CLUSTER_FILE))) {
    const res = orrery(["local", "status", "--dir", DIR, "--json"], { capture: true });
    /** @type {{alive: boolean}[]} */
    let processes = [];
    try {
      processes = res.status === 0 ? (JSON.parse(res.stdout).processes ?? []) : [];
    } catch {
      processes = [];
    }
    if (processes.length > 0 && processes.every((p) => p.alive)) {
      step(`reusing the local cluster in ${DIR}/ (${processes.length} processes alive)`);
      return true;
    }
    if (processes.some((p) => p.alive)) {
      step("part of the local cluster is down: stopping the rest before starting afresh");
      orrery(["local", "down", "--dir", DIR]);
    }
  }
  step(`starting a local cluster in ${DIR}/`);
  const up = orrery(["local", "up", "--dir", DIR]);
  if (up.status !== 0) fail(`\`orrery local up\` exited ${up.status}; its logs are under ${DIR}/logs/`, up.status);
  return false;
}

/** Which cluster the data went into: its coordinator and redis addresses. */
function clusterIdentity() {
  const cluster = JSON.parse(readFileSync(join(ROOT, CLUSTER_FILE), "utf8"));
  return { coordinator: cluster.coordinator, redis: cluster.redis };
}

function ensureData() {
  if (existsSync(join(ROOT, MANIFEST))) {
    step(`example data already in ${DATA_DIR}/`);
    return;
  }
  step(`generating example data in ${DATA_DIR}/`);
  const manifest = generate(join(ROOT, DATA_DIR));
  const raws = manifest.filter((m) => m.datasetType === "raw").length;
  say(`${raws} raw frames, ${manifest.length - raws} bias frames (two validity periods), manifest.jsonl`);
}

/** @param {boolean} reused */
function ensureIngested(reused) {
  const identity = clusterIdentity();
  if (reused && existsSync(join(ROOT, INGESTED))) {
    const previous = JSON.parse(readFileSync(join(ROOT, INGESTED), "utf8"));
    if (previous.coordinator === identity.coordinator && previous.redis === identity.redis) {
      step(`example data already ingested into this cluster (${INPUT_RSE})`);
      return;
    }
  }
  step(`ingesting ${MANIFEST} into ${INPUT_RSE}`);
  const res = orrery(["dbb", "ingest", "--rse", INPUT_RSE, "--manifest", MANIFEST]);
  if (res.status !== 0) {
    fail(`ingest exited ${res.status}; to start from scratch: npx orrery local down && rm -rf ${DIR}`, res.status);
  }
  writeFileSync(join(ROOT, INGESTED), `${JSON.stringify({ ...identity, at: new Date().toISOString() })}\n`);
}

/** The http URL of a replica on an S3 RSE (path-style: endpoint/bucket/prefix/scope/name). */
function replicaUrl(/** @type {any} */ rse, /** @type {string} */ did) {
  if (!rse?.endpoint || !rse?.bucket) return "";
  const i = did.indexOf(":");
  const key = [String(rse.prefix ?? "").replace(/^\/+|\/+$/g, ""), did.slice(0, i), did.slice(i + 1)].filter((p) => p !== "").join("/");
  return `${String(rse.endpoint).replace(/\/+$/, "")}/${rse.bucket}/${key}`;
}

function showCoadds() {
  step("where the coadds are");
  /** @type {any[]} */
  const quanta = orreryJson(["quanta", CAMPAIGN, "--task", "coadd"]);
  /** @type {any[]} */
  const rses = orreryJson(["dbb", "rse", "list"]);
  const rseByName = new Map(rses.map((r) => [r.name, r]));
  for (const q of quanta) {
    const dataId = Object.entries(q.dataId ?? {}).map(([k, v]) => `${k}=${v}`).join(" ");
    for (const did of q.outputs ?? []) {
      say(`${did}  (${dataId})`);
      /** @type {any[]} */
      const replicas = orreryJson(["dbb", "replicas", did]);
      if (replicas.length === 0) say("    no replicas registered");
      for (const r of replicas) {
        const url = replicaUrl(rseByName.get(r.rse), r.did ?? did);
        say(`    ${r.rse}  ${r.state}  ${r.bytes} bytes  ${url}`);
      }
    }
  }
}

process.chdir(ROOT);
const reused = ensureCluster();
ensureData();
ensureIngested(reused);

step(`submitting ${CAMPAIGN_FILE}`);
const submitted = orrery(["submit", CAMPAIGN_FILE, "--wait"]);
if (submitted.status !== 0) {
  const status = orrery(["status", CAMPAIGN, "--json"], { capture: true });
  // A refused submit leaves any older campaign of this name in place: only a
  // state other than SUCCEEDED can be this run's.
  let state = `did not succeed (submit exited ${submitted.status})`;
  try {
    const found = JSON.parse(status.stdout).state;
    if (typeof found === "string" && found !== "SUCCEEDED") state = found;
  } catch {
    // no status to add
  }
  say(`\n${CAMPAIGN}: ${state}`);
  say("  see why:   npx orrery tickets --open   ·   npx orrery quanta mini-drp --state FAILED   ·   npx orrery logs QUANTUM");
  say("  fixed it:  npx orrery retry mini-drp");
  say("  stop:      npx orrery local down");
  process.exit(submitted.status);
}

showCoadds();
say(`\n${CAMPAIGN}: SUCCEEDED`);
say("  progress and history:  npx orrery status");
say("  stop the cluster:      npx orrery local down");
process.exit(0);
