// Live campaign control on a real cluster: pause starts nothing new (what runs
// finishes and is recorded), resume runs it to the end, priority changes the
// next scheduling decision, cancel kills the running payloads and leaves
// nothing to run, and a coordinator restart keeps PAUSED and CANCELLED.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { stopProcess } from "../src/common/local/child.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { killCoordinator, tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface Status {
  campaign: string;
  state: string;
  priority: number;
  counts: Record<string, number>;
}
interface QuantumJson {
  id: string;
  state: string;
  attempts: { agent: string; outcome: string; start: string }[];
}

const FRAMES = 6;
/** In every payload's arguments: `ps` finds the payloads of this test run and no other. */
const TOKEN = `live-ctl-${randomBytes(4).toString("hex")}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The states a campaign has quanta in (status lists every state, most with 0). */
const nonzero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));

/** A campaign of one quantum per frame, each sleeping `seconds` then copying its frame. */
function campaign(name: string, seconds: number): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    slow:
      command: [node, test/fixtures/payloads/copy-after.mjs, "${seconds}", "{inputs.frame}", "{outputs.copy}", "${TOKEN}-${name}"]
      dimensions: [frame]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: lc}
output: {scope: lc-out, run: ${name}/run1}
`;
}

/** Payload processes of a campaign of this test still running anywhere on the machine. */
function payloadProcesses(name: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(`${TOKEN}-${name}`));
}

describe("live campaign control", () => {
  let dir: string;
  let cluster: ClusterFile;
  let restartedPid = 0;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);
  const status = (name: string) => json<Status>(["status", name]);
  const quanta = (name: string) => json<QuantumJson[]>(["quanta", name]);

  async function submit(name: string, seconds: number): Promise<void> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, campaign(name, seconds));
    const r = await cli(["submit", file]);
    expect(r.code, r.stderr).toBe(0);
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }

  const running = (name: string, n = 1) => waitFor(`${name} to run ${n} quanta`, async () => ((await status(name)).counts["RUNNING"] ?? 0) >= n || undefined);

  beforeAll(async () => {
    dir = tempDir("live-control");
    // One agent with two cores: two quanta run at a time, the others wait READY.
    cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 2, heartbeatMs: 1000 });
    for (let n = 1; n <= FRAMES; n++) writeFileSync(join(dir, `in_${n}.dat`), `frame ${n}\n`.repeat(40));
    for (let n = 1; n <= FRAMES; n++) {
      const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, `in_${n}.dat`), "--scope", "lc", "--dataset-type", "frame", "--data-id", `frame=${n}`]);
      expect(r.code, r.stderr).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    if (restartedPid) await stopProcess(restartedPid);
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("pause lets running quanta finish and starts nothing new until resumed; resume runs it to SUCCEEDED", async () => {
    const name = `lc-pause-${TOKEN.slice(-8)}`;
    await submit(name, 2);
    await running(name);
    expect(await json(["pause", name])).toEqual({ campaign: name, state: "PAUSED" });

    // What ran at the pause finishes and is recorded; the campaign stays PAUSED.
    const settled = await waitFor("the running quanta to finish", async () => {
      const s = await status(name);
      return (s.counts["RUNNING"] ?? 0) === 0 ? s : undefined;
    });
    const started = (await quanta(name)).filter((q) => q.attempts.length > 0).length;
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThan(FRAMES);
    expect(settled.state).toBe("PAUSED");
    expect(settled.counts["SUCCEEDED"]).toBe(started);
    expect(settled.counts["READY"]).toBe(FRAMES - started);

    // Over a few seconds with a free agent, nothing new starts.
    await sleep(2500);
    const later = await status(name);
    expect(later.state).toBe("PAUSED");
    expect(nonzero(later.counts)).toEqual({ SUCCEEDED: started, READY: FRAMES - started });
    expect((await quanta(name)).filter((q) => q.attempts.length > 0)).toHaveLength(started);

    expect(await json(["resume", name])).toEqual({ campaign: name, state: "RUNNING" });
    const done = await cli(["status", name, "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    const end = await status(name);
    expect(end.state).toBe("SUCCEEDED");
    expect(nonzero(end.counts)).toEqual({ SUCCEEDED: FRAMES });
    // Every quantum ran once: a pause is not a kill.
    expect((await quanta(name)).map((q) => q.attempts.map((a) => a.outcome))).toEqual(Array.from({ length: FRAMES }, () => ["succeeded"]));

    // An ended campaign cannot be paused or resumed, nor its priority changed: exit 2 naming the state.
    const again = await cli(["pause", name]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`campaign ${name} is SUCCEEDED; only RUNNING or PAUSED campaigns can be paused`);
    expect(again.stderr).toContain("fix:");
    expect((await cli(["priority", name, "5"])).code).toBe(2);
  }, 120_000);

  it("priority: a raised campaign is served first at the next decision; out of range is refused", async () => {
    const blocker = `lc-block-${TOKEN.slice(-8)}`;
    const low = `lc-low-${TOKEN.slice(-8)}`;
    const high = `lc-high-${TOKEN.slice(-8)}`;
    // Two quanta of the blocker hold both cores, so the next two campaigns wait READY.
    await submit(blocker, 60);
    await running(blocker, 2);
    await submit(low, 0);
    await submit(high, 0);
    // Same priority: `low`, submitted first, would go first.
    expect(await json(["priority", high, "500"])).toEqual({ campaign: high, priority: 500 });
    expect((await status(high)).priority).toBe(500);
    expect(nonzero((await status(low)).counts)).toEqual({ READY: FRAMES });
    // Cancelling the blocker frees both cores at once: the next decisions serve `high` first.
    expect(await json(["cancel", blocker])).toEqual({ campaign: blocker, state: "CANCELLED" });

    for (const c of [low, high]) expect((await cli(["status", c, "--watch"])).code).toBe(0);
    const startsOf = async (c: string) => (await quanta(c)).map((q) => Date.parse(q.attempts[0]!.start));
    const [lowStarts, highStarts] = [await startsOf(low), await startsOf(high)];
    // A strictly higher band is served first: every quantum of `high` started before any of `low`.
    expect(Math.max(...highStarts)).toBeLessThanOrEqual(Math.min(...lowStarts));

    const out = await cli(["priority", high, "1001"]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("priority 1001: expected a whole number from 0 to 1000");
    expect(out.stderr).toContain("fix:");
    expect((await cli(["priority", high, "-3"])).code).toBe(2);
    const unknown = await cli(["priority", `lc-none-${TOKEN.slice(-8)}`, "10"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no campaign named");
  }, 120_000);

  it("cancel kills the running payloads and leaves nothing READY or RUNNING", async () => {
    const name = `lc-cancel-${TOKEN.slice(-8)}`;
    await submit(name, 60);
    await running(name);
    await waitFor("the payloads to start", async () => (payloadProcesses(name).length > 0 ? true : undefined));

    expect(await json(["cancel", name])).toEqual({ campaign: name, state: "CANCELLED" });
    const s = await status(name);
    expect(s.state).toBe("CANCELLED");
    expect(nonzero(s.counts)).toEqual({ CANCELLED: FRAMES });
    expect(await quanta(name).then((qs) => qs.filter((q) => q.state !== "CANCELLED"))).toEqual([]);
    // The agent's capacity is free at once, and its payloads are killed.
    const [agent] = await json<{ running: number }[]>(["agents"]);
    expect(agent?.running).toBe(0);
    await waitFor("the payloads to be killed", async () => (payloadProcesses(name).length === 0 ? true : undefined), 15_000);

    // Nothing comes back to life, and cancelled quanta cannot be resumed.
    await sleep(1500);
    expect(nonzero((await status(name)).counts)).toEqual({ CANCELLED: FRAMES });
    const resume = await cli(["resume", name]);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toContain(`campaign ${name} is CANCELLED; only RUNNING or PAUSED campaigns can be resumed`);

    // The agent takes new work.
    const next = `lc-after-${TOKEN.slice(-8)}`;
    await submit(next, 0);
    const done = await cli(["status", next, "--watch"]);
    expect(done.code, done.stderr).toBe(0);
  }, 120_000);

  it("a coordinator restart keeps PAUSED and CANCELLED", async () => {
    const paused = `lc-rpause-${TOKEN.slice(-8)}`;
    const cancelled = `lc-rcancel-${TOKEN.slice(-8)}`;
    await submit(paused, 3);
    await running(paused, 2);
    expect((await json<Status>(["pause", paused])).state).toBe("PAUSED");
    await submit(cancelled, 60);
    await running(cancelled);
    expect((await json<Status>(["cancel", cancelled])).state).toBe("CANCELLED");

    restartedPid = await killCoordinator(cluster, dir)();

    // Let agents reconnect and deliver what finished meanwhile; neither campaign moves.
    await sleep(3000);
    const p = await status(paused);
    expect(p.state).toBe("PAUSED");
    expect((p.counts["READY"] ?? 0) + (p.counts["RUNNING"] ?? 0)).toBeGreaterThan(0);
    const k = await status(cancelled);
    expect(k.state).toBe("CANCELLED");
    expect(nonzero(k.counts)).toEqual({ CANCELLED: FRAMES });
    expect(payloadProcesses(cancelled)).toEqual([]);

    // The paused one still resumes and finishes.
    expect((await json<Status>(["resume", paused])).state).toBe("RUNNING");
    const done = await cli(["status", paused, "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    expect(nonzero((await status(paused)).counts)).toEqual({ SUCCEEDED: FRAMES });
  }, 120_000);
});
