// Mutated campaign files sent to a real local cluster: a few hundred through
// the coordinator's plan RPC, some through `orrery plan` as a user runs it.
// Each is planned or refused with exit 2 (a file the parser accepts may still
// fail planning with exit 1); never a stack trace, a hang or a crash, nothing
// is stored, and the coordinator is alive afterwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, OrreryError } from "../src/common/errors.js";
import { createUnaryClient, type UnaryClient } from "../src/common/grpc-service.js";
import { clientSecurity } from "../src/common/grpc-security.js";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { CampaignService } from "../src/gen/orrery/v1/coordinator_pb.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";
import { tempDir } from "./harness.js";
import { mutate } from "./fuzz/mutate.js";
import { messageViolation, parseAs, regressionFiles, violation } from "./fuzz/outcome.js";
import { Random } from "./fuzz/random.js";
import { EXAMPLE_CAMPAIGN } from "./fuzz/seeds.js";

const SEED = Number(process.env["ORRERY_FUZZ_SEED"] ?? 20261201) + 2;
/** `ORRERY_FUZZ_SCALE` multiplies the RPC cases (the soak runs more). */
const RPC_CASES = 300 * Number(process.env["ORRERY_FUZZ_SCALE"] ?? 1);
/** About a second each here (CLI start-up): the RPC cases carry the bulk. */
const CLI_CASES = 30;

describe("fuzzing orrery plan against a local cluster", () => {
  let dir: string;
  let cluster: ClusterFile;
  let client: UnaryClient<(typeof CampaignService)["method"]>;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args], { timeoutMs: 30_000 });

  beforeAll(async () => {
    dir = tempDir("fuzz-plan");
    cluster = await startCluster({ dir, sites: 1, agents: 0, softwareRoot: REPO_ROOT });
    execFileSync(process.execPath, [join(REPO_ROOT, "examples/mini-drp/generate.mjs"), join(dir, "input"), "--exposures", "1", "--detectors", "2", "--size", "16"]);
    await orreryJson(["--cluster", join(dir, "cluster.json"), "dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(dir, "input", "manifest.jsonl")]);
    client = createUnaryClient(CampaignService, cluster.coordinator, undefined, clientSecurity(cluster));
  });

  afterAll(async () => {
    client?.close();
    if (dir === undefined) return;
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  const coordinatorAlive = (): boolean => {
    const pid = cluster.processes.find((p) => p.role === "coordinator")!.pid;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it(`${RPC_CASES} mutated campaigns through the plan RPC: planned or refused as the parser says, the coordinator alive`, async () => {
    const r = new Random(SEED);
    const failures: string[] = [];
    for (let i = 0; i < RPC_CASES; i++) {
      const text = mutate(EXAMPLE_CAMPAIGN, "yaml", r);
      let outcome: ReturnType<typeof parseAs>;
      try {
        await client.plan({ specYaml: text, sourceName: "fuzz.yaml" }, { timeoutMs: 30_000 });
        outcome = { ok: true };
      } catch (err) {
        outcome = { ok: false, err };
      }
      const local = parseAs("campaign", text);
      let wrong: string | undefined;
      if (!local.ok) wrong = outcome.ok ? "planned a file the parser refuses" : violation(outcome);
      else if (!outcome.ok) {
        // Accepted by the parser: planning may still fail on the data (exit 1), never as an internal error.
        const e = outcome.err;
        if (!(e instanceof OrreryError) || e.code === ErrorCode.INTERNAL || e.code === ErrorCode.UNAVAILABLE) wrong = `failed: ${String(e)}`;
        else wrong = messageViolation(e.message);
      }
      if (wrong !== undefined && failures.length < 10) failures.push(`seed ${SEED} case ${i}: ${wrong}\n${text.slice(0, 300)}`);
    }
    expect(failures).toEqual([]);
    expect(coordinatorAlive()).toBe(true);
    // plan stores nothing, whatever it was sent.
    expect((await client.status({ campaign: "" })).campaigns).toEqual([]);
  });

  it("the saved crashers and mutated campaigns through `orrery plan`: exit 0, 1 or 2 by the parser, one clean message, no trace", async () => {
    const r = new Random(SEED + 1);
    const files = [
      ...regressionFiles()
        .filter((f) => f.kind === "campaign")
        .map((f) => ({ name: f.name, text: f.text })),
      ...Array.from({ length: CLI_CASES }, (_, i) => ({ name: `case-${i}.yaml`, text: mutate(EXAMPLE_CAMPAIGN, "yaml", r) })),
    ];
    const failures: string[] = [];
    for (const f of files) {
      const path = join(dir, f.name);
      writeFileSync(path, f.text);
      const res = await cli(["plan", path]);
      const parsedOk = parseAs("campaign", f.text).ok;
      const allowed = parsedOk ? [0, 1] : [2];
      let wrong: string | undefined;
      if (!allowed.includes(res.code)) wrong = `exit ${res.code}, expected ${allowed.join(" or ")}`;
      else if (/^\s+at .+:\d+/m.test(res.stderr)) wrong = "a stack trace";
      else if (res.code === 2 && !res.stderr.includes("refused")) wrong = "a refusal that does not say so";
      if (wrong !== undefined && failures.length < 10) failures.push(`seed ${SEED + 1} ${f.name}: ${wrong}\n${res.stderr.slice(0, 600)}`);
    }
    expect(failures).toEqual([]);
    expect(coordinatorAlive()).toBe(true);
    // Some 30 CLI processes, each a node start-up: on a loaded 2-core machine that alone nears a minute.
  }, 150_000);

  it("refuses the issue's deep flow file and alias bomb with exit 2 naming the cap", async () => {
    const byName = new Map(regressionFiles().map((f) => [f.name, f.text]));
    const deep = join(dir, "deep.yaml");
    writeFileSync(deep, byName.get("campaign-deep-flow-817.yaml")!);
    const d = await cli(["plan", deep]);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain("over the cap of 64 levels of nesting");
    const bomb = join(dir, "bomb.yaml");
    writeFileSync(bomb, byName.get("campaign-alias-bomb.yaml")!);
    const b = await cli(["plan", bomb]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("over the cap on alias expansion");
    expect(coordinatorAlive()).toBe(true);
  });
});
