// Rules moving real data on a real 2-site cluster (two S3 endpoints, the dbb
// as its own process): Rucio's rule cases end to end, the repairer, and
// SIGKILL of the dbb and of nats-server in the middle of transfers, each
// brought back with `orrery local restart`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { checksumBytes } from "../src/common/checksum.js";
import { s3ClientFor } from "../src/common/s3.js";
import type { Replica, Rule } from "../src/gen/orrery/v1/dbb_pb.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson } from "./cli-runner.js";

const DBB_ARGS = ["--transfer-tries", "2", "--retry-delay", "0.2s", "--repair-delay", "1s", "--judge-interval", "0.3s"];

describe("replication on a 2-site cluster", () => {
  let dir: string;
  let cluster: ClusterFile;
  let nc: NatsConnection;
  let client: DbbClient;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);

  beforeAll(async () => {
    dir = tempDir("replication");
    cluster = await startCluster({ dir, sites: 2, agents: 0, dbbArgs: DBB_ARGS });
    useClusterSecrets(cluster);
    nc = await connectNats(cluster.nats, "replication-test");
    client = new DbbClient(nc);
  });

  afterAll(async () => {
    await nc?.close();
    await stopCluster(dir);
    for (const endpoint of Object.values(cluster?.s3 ?? {})) s3ClientFor(endpoint).destroy();
    if (!process.env["KEEP"]) rmSync(dir, { recursive: true, force: true });
  });

  /** Ingests `n` files of `size` bytes at site-a-disk into a new dataset; returns its DID. */
  async function ingestDataset(tag: string, n: number, size: number): Promise<string> {
    const folder = join(dir, tag);
    mkdirSync(folder, { recursive: true });
    const lines = [];
    for (let i = 0; i < n; i++) {
      // File names carry the tag: a DID is scope:name, and each test wants files of its own.
      writeFileSync(join(folder, `${tag}-${i}.dat`), randomBytes(size));
      lines.push(JSON.stringify({ path: `${tag}-${i}.dat`, scope: "rep", datasetType: "raw", dataId: { tag, i } }));
    }
    writeFileSync(join(folder, "manifest.jsonl"), lines.join("\n"));
    const did = `rep:${tag}`;
    const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(folder, "manifest.jsonl"), "--dataset", did]);
    expect(r.code, r.stderr).toBe(0);
    return did;
  }

  async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    let last: T | undefined;
    for (;;) {
      try {
        last = await read();
        if (ok(last)) return last;
      } catch {
        // a service being restarted: ask again
      }
      if (Date.now() > end) throw new Error(`condition not met in ${ms} ms; last: ${JSON.stringify(last, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Reads a replica's object back from its RSE's S3 and checks it against the catalog. */
  async function verifyObject(replica: Replica): Promise<void> {
    const rse = (await client.rseList()).find((r) => r.name === replica.rse)!;
    const got = await s3ClientFor(rse.endpoint).send(new GetObjectCommand({ Bucket: rse.bucket, Key: replica.path }));
    const sums = checksumBytes(await got.Body!.transformToByteArray());
    expect({ bytes: sums.bytes, adler32: sums.adler32, md5: sums.md5 }).toEqual({ bytes: Number(replica.bytes), adler32: replica.adler32, md5: replica.md5 });
  }

  /** Every file of `did` has exactly one AVAILABLE replica at each RSE in `rses` and none elsewhere but `others`. */
  async function expectReplicas(did: string, rses: string[]): Promise<Replica[]> {
    const replicas = await client.replicas(did);
    const byFile = new Map<string, string[]>();
    for (const r of replicas) if (rses.includes(r.rse)) byFile.set(r.did, [...(byFile.get(r.did) ?? []), `${r.rse}:${r.state}`]);
    for (const list of byFile.values()) expect(list.sort()).toEqual(rses.map((r) => `${r}:AVAILABLE`).sort());
    return replicas;
  }

  it("ALL grouping with copies=2: every file of a 3-file dataset ends AVAILABLE on the same 2 RSEs, bytes verified", async () => {
    const did = await ingestDataset("all3", 3, 50_000);
    const added = await orreryJson<{ id: string; state: string; locks: Record<string, number> }>(["--cluster", join(dir, "cluster.json"), "dbb", "rule", "add", did, "--rse-expr", "tier=disk", "--copies", "2", "--grouping", "ALL", "--wait", "--json"]);
    expect(added.state).toBe("OK");
    expect(added.locks).toEqual({ OK: 6, REPLICATING: 0, STUCK: 0 });
    const replicas = await expectReplicas(did, ["site-a-disk", "site-b-disk"]);
    for (const r of replicas.filter((r) => r.rse === "site-b-disk")) await verifyObject(r);
  });

  it("a transfer that keeps failing makes the rule STUCK, and the repairer moves the lock to another RSE of the expression", async () => {
    const did = await ingestDataset("stuck", 1, 10_000);
    // A broken RSE (nothing listens there) that the weights all but force the rule onto, and a good one.
    await client.rseAdd({ name: "site-b-broken", site: "site-b", endpoint: "http://127.0.0.1:9", bucket: "broken", attributes: { weight: "100000" } });
    await client.rseAdd({ name: "site-b-good", site: "site-b", endpoint: cluster.s3["site-b"]!, bucket: "site-b-disk", prefix: "good", attributes: { weight: "0.00001" } });
    const rule = await client.ruleAdd({ did, rseExpression: "weight>0", weight: "weight", copies: 1 });
    const states = new Set<string>();
    const done = await until(
      () => client.ruleShow(rule.id),
      (r: Rule) => {
        states.add(r.state);
        return r.state === "OK";
      },
    );
    expect(states.has("STUCK")).toBe(true);
    expect(done.locksOk).toBe(1n);
    const replicas = await client.replicas(did);
    const good = replicas.find((r) => r.rse === "site-b-good");
    expect(good?.state).toBe("AVAILABLE");
    await verifyObject(good!);
    expect(replicas.find((r) => r.rse === "site-b-broken")?.state).not.toBe("AVAILABLE");
  });

  /** `orrery local restart NAME`: the process comes back on the same address and data. */
  async function restart(name: string): Promise<void> {
    const r = await cli(["local", "restart", name, "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
  }

  /** Slows copies to site-b-disk to one at a time, so a crash lands mid-transfer. */
  async function throttleSiteB(limit: number): Promise<void> {
    const b = (await client.rseList()).find((r) => r.name === "site-b-disk")!;
    await client.rseAdd({ ...b, attributes: { ...b.attributes, transfer_limit: String(limit) } });
  }

  it("a dbb killed with SIGKILL mid-transfer, then restarted: the rule reaches OK with one replica per file and RSE", async () => {
    await throttleSiteB(1);
    const did = await ingestDataset("dbbkill", 30, 400_000);
    const rule = await client.ruleAdd({ did, rseExpression: "site-b-disk" });
    await until(() => client.ruleShow(rule.id), (r) => r.locksOk >= 3n);
    const dbbProcess = cluster.processes.find((p) => p.role === "dbb")!;
    process.kill(dbbProcess.pid, "SIGKILL");
    const mid = await client.ruleShow(rule.id).catch(() => undefined);
    expect(mid).toBeUndefined(); // nobody answers while the dbb is down
    await restart("dbb");
    const done = await until(() => client.ruleShow(rule.id), (r) => r.state === "OK", 120_000);
    expect(done.locksOk).toBe(30n);
    const replicas = await expectReplicas(did, ["site-a-disk", "site-b-disk"]);
    expect(replicas.filter((r) => r.rse === "site-b-disk")).toHaveLength(30);
    for (const r of replicas.filter((r) => r.rse === "site-b-disk").slice(0, 5)) await verifyObject(r);
  }, 180_000);

  it("nats-server killed with SIGKILL mid-transfer, then restarted on its store: the rule reaches OK with one replica per file and RSE", async () => {
    await throttleSiteB(1);
    const did = await ingestDataset("natskill", 30, 400_000);
    const rule = await client.ruleAdd({ did, rseExpression: "site-b-disk" });
    await until(() => client.ruleShow(rule.id), (r) => r.locksOk >= 3n);
    const natsProcess = cluster.processes.find((p) => p.role === "nats")!;
    process.kill(natsProcess.pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    await restart("nats");
    const done = await until(() => client.ruleShow(rule.id), (r) => r.state === "OK", 120_000);
    expect(done.locksOk).toBe(30n);
    const replicas = await expectReplicas(did, ["site-a-disk", "site-b-disk"]);
    expect(replicas.filter((r) => r.rse === "site-b-disk")).toHaveLength(30);
  }, 180_000);
});
