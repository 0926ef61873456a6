// A corrupted cache entry is never fed to a payload: a real local cluster runs
// a campaign (its agent caches the inputs), the agent is stopped, bytes of its
// LMDB cache entries are flipped in place (the lengths stay right), the agent
// is restarted (`orrery local restart`) and a second campaign reads the same
// inputs. Its payload checks each input's md5 and fails on a wrong byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { open } from "lmdb";
import { createUnaryClient, type UnaryClient } from "../src/common/grpc-service.js";
import { clientSecurity } from "../src/common/grpc-security.js";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { stopProcess } from "../src/common/local/child.js";
import type { ClusterFile, ClusterProcess } from "../src/common/local/cluster-file.js";
import { AttemptOutcome, CampaignState } from "../src/gen/orrery/v1/common_pb.js";
import { CampaignService } from "../src/gen/orrery/v1/coordinator_pb.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface ProvenanceJson {
  inputs: { did: string; source: string }[];
}

const FILES = 3;

function campaignYaml(name: string): string {
  // The campaign's name in the command makes each campaign's quanta new work (no reuse of the first's).
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    check:
      command: [node, test/fixtures/payloads/check-md5.mjs, "{inputs.raw}", ${name}]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: cv}
output: {scope: cv-out, run: ${name}/run1}
`;
}

describe("cache verification on a local cluster", () => {
  let dir: string;
  let cluster: ClusterFile;
  let agent: ClusterProcess;
  // Queries go through one client in this process: a CLI process per query would double the test's time.
  let client: UnaryClient<(typeof CampaignService)["method"]>;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  /** Runs a campaign to its end; returns where each quantum's input came from. */
  async function run(name: string): Promise<string[]> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, campaignYaml(name));
    const submit = await cli(["submit", file, "--wait"]);
    expect(submit.code, submit.stderr + submit.stdout).toBe(0);
    const status = (await client.status({ campaign: name })).campaigns[0];
    expect(status).toMatchObject({ state: CampaignState.SUCCEEDED, failures: 0 });
    const { quanta } = await client.listQuanta({ campaign: name });
    expect(quanta).toHaveLength(FILES);
    // Every payload saw the right bytes the first time: a corrupt input would have failed an attempt.
    expect(quanta.map((q) => q.attempts.map((a) => a.outcome))).toEqual(quanta.map(() => [AttemptOutcome.SUCCEEDED]));
    const sources: string[] = [];
    for (const q of quanta) {
      const record = JSON.parse((await client.getProvenance({ quantum: q.id, attempt: 0 })).provenanceJson) as ProvenanceJson;
      sources.push(...record.inputs.map((i) => i.source));
    }
    return sources;
  }

  beforeAll(async () => {
    dir = tempDir("cache-verify");
    cluster = await startCluster({ dir, sites: 1, agents: 1, agentCores: 2, softwareRoot: REPO_ROOT });
    agent = cluster.processes.find((p) => p.role === "agent")!;
    client = createUnaryClient(CampaignService, cluster.coordinator, undefined, clientSecurity(cluster));
    const input = join(dir, "input");
    mkdirSync(input, { recursive: true });
    const lines: string[] = [];
    for (let d = 0; d < FILES; d++) {
      const body = randomBytes(200_000);
      writeFileSync(join(input, `raw_${d}.dat`), Buffer.concat([Buffer.from(`md5 ${createHash("md5").update(body).digest("hex")}\n`), body]));
      lines.push(JSON.stringify({ path: `raw_${d}.dat`, scope: "cv", datasetType: "raw", dataId: { detector: d } }));
    }
    writeFileSync(join(input, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const ingest = await json<{ ingested: number }>(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(input, "manifest.jsonl")]);
    expect(ingest.ingested).toBe(FILES);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("drops corrupted entries, fetches the inputs from storage again and caches them anew", async () => {
    expect(await run("first")).toEqual(Array(FILES).fill("site-a-disk"));

    // The agent stopped, every entry of its cache gets one byte flipped in the middle of its data.
    await stopProcess(agent.pid, 10_000);
    const cacheDir = agent.args![agent.args!.indexOf("--cache-dir") + 1]!;
    const root = open({ path: cacheDir, maxDbs: 8 });
    const corrupted: string[] = [];
    try {
      const blobs = root.openDB<Buffer, string>({ name: "cache-blobs", encoding: "binary" });
      const meta = root.openDB<{ did: string }, string>({ name: "cache-meta" });
      for (const { key, value } of meta.getRange()) {
        const chunk = Buffer.from(blobs.getBinary(`${key}#0`)!);
        chunk[chunk.length >> 1] = chunk[chunk.length >> 1]! ^ 0x40;
        await blobs.put(`${key}#0`, chunk);
        corrupted.push(value.did);
      }
    } finally {
      await root.close();
    }
    expect(corrupted.sort()).toEqual(Array.from({ length: FILES }, (_, d) => `cv:raw_${d}.dat`));
    const restart = await cli(["local", "restart", agent.name]);
    expect(restart.code, restart.stderr).toBe(0);

    // Not one corrupt byte reached a payload: every input came from storage, each drop logged with its DID.
    expect(await run("second")).toEqual(Array(FILES).fill("site-a-disk"));
    const logs = readdirSync(join(dir, "logs"))
      .filter((f) => f.startsWith(agent.name))
      .map((f) => readFileSync(join(dir, "logs", f), "utf8"))
      .join("\n");
    const warnings = logs.split("\n").filter((l) => l.includes("cache entry corrupt"));
    for (const did of corrupted) expect(warnings.some((w) => w.includes(did) && w.includes("adler32 mismatch")), did).toBe(true);

    // The bytes fetched again were cached again, and are served from the cache.
    expect(await run("third")).toEqual(Array(FILES).fill("cache"));
  }, 60_000);
});
