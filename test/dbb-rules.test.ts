// Replication rules against real servers, re-expressing Rucio's own rule
// tests (test_rule.py): grouping, duplicates, insufficient RSEs, locked
// rules, lifetimes, files attached after the rule.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { runDbb, type RunningDbb } from "../src/dbb/index.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { checksumBytes } from "../src/common/checksum.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { isOrreryError } from "../src/common/errors.js";
import { startTestServers, type TestServers } from "./harness.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";

describe("replication rules", () => {
  let servers: TestServers;
  let dbb: RunningDbb;
  let nc: NatsConnection;
  let client: DbbClient;
  const SITE_B = ["rb-1", "rb-2", "rb-3"];

  beforeAll(async () => {
    servers = await startTestServers("rules", ["ra", ...SITE_B]);
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url, judgeIntervalMs: 200, repairDelayMs: 200 });
    nc = await connectNats(servers.nats.url, "rules-test");
    client = new DbbClient(nc);
    await client.rseAdd({ name: "ra", site: "site-a", endpoint: servers.s3.endpoint, bucket: "ra", tier: StorageTier.DISK });
    for (const n of SITE_B) await client.rseAdd({ name: n, site: "site-b", endpoint: servers.s3.endpoint, bucket: n, tier: StorageTier.DISK, attributes: { weight: n === "rb-3" ? "0" : "10" } });
  });

  afterAll(async () => {
    await nc?.close();
    await dbb?.close();
    await servers?.stop();
  });

  /** Registers `n` files of a new dataset at RSE `ra`; returns the dataset DID and file DIDs. */
  async function dataset(tag: string, n: number): Promise<{ did: string; files: string[] }> {
    const did = `rt:${tag}-${randomBytes(3).toString("hex")}`;
    const files: string[] = [];
    const regs = [];
    for (let i = 0; i < n; i++) {
      const data = randomBytes(64);
      const sum = checksumBytes(data);
      const name = `${did.slice(3)}/f${i}`;
      files.push(`rt:${name}`);
      regs.push({ file: { scope: "rt", name, datasetType: "raw", dataId: JSON.stringify({ i }), bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5 }, rse: "ra", collection: did });
    }
    await client.register(regs);
    return { did, files };
  }

  async function refused(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (err) {
      if (isOrreryError(err)) return `${err.code}: ${err.message}`;
      throw err;
    }
    throw new Error("expected a refusal");
  }

  it("ALL grouping with copies=2 puts every file of a dataset on the same 2 RSEs", async () => {
    const ds = await dataset("all", 3);
    const rule = await client.ruleAdd({ did: ds.did, rseExpression: "site=site-b", copies: 2, grouping: "ALL" });
    expect(Number(rule.locksOk) + Number(rule.locksReplicating)).toBe(6);
    const replicas = await client.replicas(ds.did);
    const perFile = new Map<string, string[]>();
    for (const r of replicas.filter((r) => r.rse !== "ra")) perFile.set(r.did, [...(perFile.get(r.did) ?? []), r.rse].sort());
    expect([...perFile.keys()].sort()).toEqual([...ds.files].sort());
    const sets = new Set([...perFile.values()].map((v) => v.join(",")));
    expect(sets.size).toBe(1);
    expect([...sets][0]!.split(",")).toHaveLength(2);
  });

  it("NONE grouping chooses per file, and existing replicas are preferred", async () => {
    const ds = await dataset("none", 4);
    const rule = await client.ruleAdd({ did: ds.did, rseExpression: "*", copies: 1, grouping: "NONE" });
    // Every file is at ra already: one OK lock each, nothing to copy.
    expect(rule.state).toBe("OK");
    expect(Number(rule.locksOk)).toBe(4);
  });

  it("a weight attribute leaves out RSEs without a positive weight", async () => {
    const ds = await dataset("weight", 2);
    const rule = await client.ruleAdd({ did: ds.did, rseExpression: "site=site-b", copies: 2, weight: "weight", grouping: "ALL" });
    const rses = new Set((await client.replicas(ds.did)).map((r) => r.rse));
    expect([...rses].sort()).toEqual(["ra", "rb-1", "rb-2"]);
    expect(await refused(client.ruleAdd({ did: ds.did, rseExpression: "site=site-b|ra", copies: 3, weight: "weight" }))).toMatch(/INVALID_ARGUMENT: .*selects 2 RSE/);
    expect(rule.copies).toBe(2);
  });

  it("refuses a duplicate rule and one asking more copies than the expression has RSEs", async () => {
    const ds = await dataset("dup", 1);
    const first = await client.ruleAdd({ did: ds.did, rseExpression: "rb-1", copies: 1 });
    expect(await refused(client.ruleAdd({ did: ds.did, rseExpression: "rb-1", copies: 1 }))).toMatch(new RegExp(`ALREADY_EXISTS: .*${first.id}`));
    expect(await refused(client.ruleAdd({ did: ds.did, rseExpression: "site=site-b", copies: 4 }))).toMatch(/INVALID_ARGUMENT: rse expression "site=site-b" selects 3 RSE\(s\) \(rb-1, rb-2, rb-3\), fewer than the 4 copies/);
    expect((await client.ruleList(ds.did)).map((r) => r.id)).toEqual([first.id]);
  });

  it("a locked rule survives delete until it is unlocked", async () => {
    const ds = await dataset("locked", 1);
    const rule = await client.ruleAdd({ did: ds.did, rseExpression: "rb-2", locked: true });
    expect(await refused(client.ruleDelete(rule.id))).toMatch(/ILLEGAL_TRANSITION: .*locked/);
    expect((await client.ruleShow(rule.id)).id).toBe(rule.id);
    await client.ruleUpdate({ id: rule.id, locked: false });
    await client.ruleDelete(rule.id);
    expect(await refused(client.ruleShow(rule.id))).toMatch(/NOT_FOUND/);
  });

  it("files attached to a ruled dataset later get locks, by registration or by attach, and lose them when detached", async () => {
    const ds = await dataset("later", 2);
    const rule = await client.ruleAdd({ did: ds.did, rseExpression: "rb-1", grouping: "ALL" });
    expect(Number(rule.locksOk) + Number(rule.locksReplicating)).toBe(2);
    // A third file registered into the dataset, and a fourth attached to it afterwards.
    const sum = checksumBytes(randomBytes(64));
    const third = `${ds.did}-f2`;
    await client.register([{ file: { scope: "rt", name: third.slice(3), datasetType: "raw", dataId: "{}", bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5 }, rse: "ra", collection: ds.did }]);
    const other = await dataset("later-other", 1);
    const fourth = other.files[0]!;
    await client.attach(ds.did, [fourth]);
    const after = await client.ruleShow(rule.id);
    expect(Number(after.locksOk) + Number(after.locksReplicating)).toBe(4);
    const atRb1 = (await client.replicas(ds.did)).filter((r) => r.rse === "rb-1").map((r) => r.did).sort();
    expect(atRb1).toEqual([...ds.files, third, fourth].sort());
    await client.detach(ds.did, [fourth]);
    const detached = await client.ruleShow(rule.id);
    expect(Number(detached.locksOk) + Number(detached.locksReplicating) + Number(detached.locksStuck)).toBe(3);
  });

  it("an expired rule is removed while another rule's locks on the same files stay", async () => {
    const ds = await dataset("expiry", 2);
    const keep = await client.ruleAdd({ did: ds.did, rseExpression: "ra" });
    const short = await client.ruleAdd({ did: ds.did, rseExpression: "ra|rb-1", copies: 1, lifetime: "1s" });
    expect(short.expiresAt).not.toBe("");
    const end = Date.now() + 10_000;
    while ((await client.ruleList(ds.did)).length > 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const left = await client.ruleList(ds.did);
    expect(left.map((r) => r.id)).toEqual([keep.id]);
    expect(left[0]).toMatchObject({ state: "OK", locksOk: 2n });
  });
});
