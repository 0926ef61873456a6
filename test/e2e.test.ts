// The whole path on real servers: a local cluster with 2 sites and agent
// processes, the mini-drp example ingested, submitted and run to the end.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { checksumBytes } from "../src/common/checksum.js";
import { s3ClientFor } from "../src/common/s3.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface QuantumJson {
  id: string;
  task: string;
  state: string;
  outputs: string[];
  attempts: { agent: string; site: string; outcome: string }[];
}
interface ReplicaJson {
  did: string;
  rse: string;
  state: string;
  bytes: number;
  adler32: string;
  md5: string;
  producedBy: string | null;
}
interface RseJson {
  name: string;
  endpoint: string;
  bucket: string;
  prefix: string;
}

describe("mini-drp end to end on a local cluster", () => {
  let dir: string;
  let cluster: ClusterFile;
  let cli: (args: string[]) => ReturnType<typeof orrery>;
  let json: <T>(args: string[]) => Promise<T>;

  beforeAll(async () => {
    dir = tempDir("e2e");
    cluster = await startCluster({ dir, sites: 2, agents: 3, softwareRoot: REPO_ROOT });
    // This test reads outputs from S3 itself, as the operator.
    useClusterSecrets(cluster);
    const clusterArgs = ["--cluster", join(dir, "cluster.json")];
    cli = (args) => orrery([...clusterArgs, ...args]);
    json = (args) => orreryJson([...clusterArgs, ...args]);
    execFileSync(process.execPath, [join(REPO_ROOT, "examples/mini-drp/generate.mjs"), join(dir, "input"), "--exposures", "2", "--detectors", "4", "--size", "32"]);
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs agents as separate processes on two sites", () => {
    const agents = cluster.processes.filter((p) => p.role === "agent");
    expect(agents.length).toBeGreaterThanOrEqual(2);
    expect(new Set(agents.map((a) => a.site))).toEqual(new Set(["site-a", "site-b"]));
  });

  it("ingests, runs every quantum, and catalogues every output where it was made", async () => {
    const manifest = join(dir, "input", "manifest.jsonl");
    const lines = readFileSync(manifest, "utf8").trim().split("\n").length;
    const ingest = await json<{ ingested: number; bytes: number }>(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", manifest]);
    expect(ingest.ingested).toBe(lines);

    const submit = await cli(["submit", join(REPO_ROOT, "examples/mini-drp/campaign.yaml"), "--wait"]);
    expect(submit.stderr + submit.stdout).toContain("SUCCEEDED");
    expect(submit.code).toBe(0);

    const status = await json<{ state: string; counts: Record<string, number> }>(["status", "mini-drp"]);
    expect(status.state).toBe("SUCCEEDED");

    const quanta = await json<QuantumJson[]>(["quanta", "mini-drp"]);
    // 2 exposures × 4 detectors → 8 isr, 8 calibrate; 4 detectors over 2 patches → 2 coadds.
    expect(quanta.filter((q) => q.task === "isr")).toHaveLength(8);
    expect(quanta.filter((q) => q.task === "calibrate")).toHaveLength(8);
    expect(quanta.filter((q) => q.task === "coadd")).toHaveLength(2);
    expect(quanta.every((q) => q.state === "SUCCEEDED")).toBe(true);

    const rses = new Map((await json<RseJson[]>(["dbb", "rse", "list"])).map((r) => [r.name, r]));
    for (const q of quanta) {
      const last = q.attempts[q.attempts.length - 1]!;
      expect(last.outcome).toBe("succeeded");
      const outputRse = `${last.site}-disk`;
      for (const did of q.outputs) {
        const replicas = await json<ReplicaJson[]>(["dbb", "replicas", did]);
        const here = replicas.find((r) => r.rse === outputRse && r.state === "AVAILABLE");
        expect(here, `${did} has an AVAILABLE replica at ${outputRse}`).toBeDefined();
        expect(here!.producedBy).toBe(q.id);
        const rse = rses.get(outputRse)!;
        const [scope, name] = [did.slice(0, did.indexOf(":")), did.slice(did.indexOf(":") + 1)];
        const key = [rse.prefix, scope, name].filter((p) => p !== "").join("/");
        const obj = await s3ClientFor(rse.endpoint).send(new GetObjectCommand({ Bucket: rse.bucket, Key: key }));
        const sums = checksumBytes(await obj.Body!.transformToByteArray());
        expect({ bytes: here!.bytes, adler32: here!.adler32, md5: here!.md5 }).toEqual(sums);
      }
    }

    // Outputs sit in one dataset per task inside the run's container.
    const run = "hsc-drp:mini-drp/run1";
    expect(await json<{ did: string; type: string }[]>(["dbb", "contents", run])).toEqual(["calibrate", "coadd", "isr"].map((t) => ({ did: `${run}/${t}`, type: "DATASET" })));
    const isr = await json<{ did: string }[]>(["dbb", "contents", `${run}/isr`]);
    expect(isr.map((c) => c.did).sort()).toEqual(quanta.filter((q) => q.task === "isr").flatMap((q) => q.outputs).sort());
    const all = await json<ReplicaJson[]>(["dbb", "replicas", run]);
    expect(new Set(all.map((r) => r.did))).toEqual(new Set(quanta.flatMap((q) => q.outputs)));
    // Some 30 CLI processes besides the campaign: on a loaded 2-core machine their start-ups alone near a minute.
  }, 150_000);
});
