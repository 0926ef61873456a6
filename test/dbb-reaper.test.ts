// The reaper against real servers, as Rucio's reaper tests have it: an RSE
// over its quota frees exactly enough, oldest tombstone first; locked
// replicas and last copies stay; obsolete replicas go whatever the space; a
// deletion a crash interrupted is finished when the dbb starts again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import type { Subscription } from "@nats-io/transport-node";
import { runDbb, type RunningDbb } from "../src/dbb/index.js";
import { Reaper, defineReaperScripts } from "../src/dbb/reaper/index.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { checksumBytes } from "../src/common/checksum.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { objectKey, s3ClientFor } from "../src/common/s3.js";
import { Subjects } from "../src/common/subjects.js";
import type { Rse } from "../src/gen/orrery/v1/dbb_pb.js";
import { startTestServers, until, type TestServers } from "./harness.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RSES = ["rq", "rk", "rl", "ro", "rc"];

describe("reaper", () => {
  let servers: TestServers;
  let dbb: RunningDbb;
  let nc: NatsConnection;
  let client: DbbClient;
  let redis: Redis;
  let events: Subscription;
  const seen: { did: string; rse: string; state: string }[] = [];
  const start = () => runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url, judgeIntervalMs: 200, repairDelayMs: 200, reaperIntervalMs: 200 });
  const rse = (name: string, quotaBytes = 0n) => ({ name, site: "site-r", endpoint: servers.s3.endpoint, bucket: name, tier: StorageTier.DISK, quotaBytes });

  beforeAll(async () => {
    servers = await startTestServers("reaper", RSES);
    dbb = await start();
    nc = await connectNats(servers.nats.url, "reaper-test");
    client = new DbbClient(nc);
    redis = new Redis(servers.redis.url);
    events = nc.subscribe(Subjects.replicaEvents, { callback: (_e, m) => void seen.push(m.json()) });
    for (const name of RSES) await client.rseAdd(rse(name));
  });

  afterAll(async () => {
    events?.unsubscribe();
    await nc?.close();
    await dbb?.close();
    redis?.disconnect();
    await servers?.stop();
  });

  /** A new 1 kB file stored (S3 object and replica) at each of `at`; returns its DID. */
  async function file(tag: string, at: string[]): Promise<string> {
    const name = `${tag}-${randomBytes(3).toString("hex")}`;
    const data = randomBytes(1000);
    const sum = checksumBytes(data);
    for (const r of at) await s3ClientFor(servers.s3.endpoint).send(new PutObjectCommand({ Bucket: r, Key: objectKey({ prefix: "" }, "rp", name), Body: data }));
    await client.register(at.map((r) => ({ file: { scope: "rp", name, datasetType: "raw", dataId: "{}", bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5 }, rse: r })));
    return `rp:${name}`;
  }

  /** Rucio's way to a tombstone: the last rule holding the replica goes. */
  async function tombstone(did: string, at: string): Promise<void> {
    const rule = await client.ruleAdd({ did, rseExpression: at });
    await client.ruleDelete(rule.id);
  }

  const usage = async (r: string) => Number((await redis.hget("dbb:rse-usage", r)) ?? "0");
  const stateAt = async (did: string, r: string) => (await client.replicas(did)).find((x) => x.rse === r)?.state;
  async function objectAt(did: string, r: string): Promise<boolean> {
    try {
      await s3ClientFor(servers.s3.endpoint).send(new HeadObjectCommand({ Bucket: r, Key: objectKey({ prefix: "" }, "rp", did.slice(3)) }));
      return true;
    } catch {
      return false;
    }
  }

  it("frees exactly enough of an RSE over its quota, oldest tombstone first", async () => {
    const files: string[] = [];
    for (let i = 0; i < 5; i++) files.push(await file(`q${i}`, ["rq", "rk"]));
    for (const f of files) {
      await tombstone(f, "rq");
      await sleep(5); // distinct tombstones, in file order
    }
    expect(await usage("rq")).toBe(5000);
    await sleep(600); // a passed tombstone alone is no reason to delete
    expect(await Promise.all(files.map((f) => stateAt(f, "rq")))).toEqual(Array(5).fill("AVAILABLE"));

    await client.rseAdd(rse("rq", 3000n));
    await until("usage within the quota", async () => (await usage("rq")) <= 3000);
    await sleep(600); // more passes take nothing more
    expect(await usage("rq")).toBe(3000);
    expect(await Promise.all(files.map((f) => stateAt(f, "rq")))).toEqual([undefined, undefined, "AVAILABLE", "AVAILABLE", "AVAILABLE"]);
    expect(await Promise.all(files.map((f) => objectAt(f, "rq")))).toEqual([false, false, true, true, true]);
    expect(await Promise.all(files.map((f) => stateAt(f, "rk")))).toEqual(Array(5).fill("AVAILABLE"));
    expect(seen.filter((e) => e.rse === "rq" && e.state === "BEING_DELETED").map((e) => e.did).sort()).toEqual(files.slice(0, 2).sort());
  });

  it("never takes a locked replica nor the last AVAILABLE copy, even far over quota", async () => {
    const locked = await file("locked", ["rl", "rk"]);
    await tombstone(locked, "rl");
    const rule = await client.ruleAdd({ did: locked, rseExpression: "rl" }); // a lock arrives after the tombstone
    const only = await file("only", ["rl"]);
    await tombstone(only, "rl");
    const lastAvailable = await file("last", ["rl", "rk"]);
    await tombstone(lastAvailable, "rl");
    await client.declareBad(lastAvailable, "rk", "md5 mismatch in a test");
    await until("the BAD copy at rk deleted", async () => (await stateAt(lastAvailable, "rk")) === undefined);

    await client.rseAdd(rse("rl", 1n));
    await sleep(1000); // five passes
    for (const f of [locked, only, lastAvailable]) {
      expect(await stateAt(f, "rl")).toBe("AVAILABLE");
      expect(await objectAt(f, "rl")).toBe(true);
    }
    expect(await usage("rl")).toBe(3000);
    expect((await client.ruleShow(rule.id)).state).toBe("OK");
  });

  it("deletes an obsolete replica of an RSE well within its quota", async () => {
    const f = await file("obsolete", ["ro", "rk"]);
    expect(await client.declareBad(f, "ro", "adler32 mismatch in a test")).toBe("BAD");
    await until("the obsolete replica deleted", async () => (await stateAt(f, "ro")) === undefined);
    expect(await objectAt(f, "ro")).toBe(false);
    expect(await usage("ro")).toBe(0);
    expect(await stateAt(f, "rk")).toBe("AVAILABLE");
    expect(seen.filter((e) => e.did === f && e.state !== "AVAILABLE").map((e) => `${e.rse} ${e.state}`)).toEqual(["ro BAD", "ro BEING_DELETED"]);
  });

  it("finishes at start-up what a crash left BEING_DELETED, copying again one a lock arrived for", async () => {
    const gone = await file("crash-gone", ["rc", "rk"]);
    const wanted = await file("crash-wanted", ["rc", "rk"]);
    for (const f of [gone, wanted]) await tombstone(f, "rc");
    // A reaper that dies between its mark and the object's deletion.
    const scripts = defineReaperScripts(new Redis(servers.redis.url));
    try {
      const rc = (await client.rseList()).find((r) => r.name === "rc")!;
      const crashing = new Reaper(scripts, { enqueue: () => Promise.resolve() }, () => client.rseList(), () => {}, { intervalMs: 60_000 }, {
        delete: () => Promise.reject(new Error("killed")),
      });
      const overQuota: Rse = { ...rc, quotaBytes: 1n };
      expect((await crashing.reapRse(overQuota)).deleted).toBe(0);
    } finally {
      scripts.disconnect();
    }
    expect([await stateAt(gone, "rc"), await stateAt(wanted, "rc")]).toEqual(["BEING_DELETED", "BEING_DELETED"]);
    expect(await usage("rc")).toBe(0);
    const rule = await client.ruleAdd({ did: wanted, rseExpression: "rc" });
    expect(rule).toMatchObject({ state: "REPLICATING", locksReplicating: 1n });

    await dbb.close();
    dbb = await start();
    expect(await stateAt(gone, "rc")).toBeUndefined();
    expect(await objectAt(gone, "rc")).toBe(false);
    // The lock that arrived made it COPYING again, and the transfer workers copy it back from rk.
    const end = Date.now() + 20_000;
    while ((await client.ruleShow(rule.id)).state !== "OK" && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect((await client.ruleShow(rule.id)).state).toBe("OK");
    expect(await stateAt(wanted, "rc")).toBe("AVAILABLE");
    expect(await objectAt(wanted, "rc")).toBe(true);
    expect(await redis.hget("dbb:transfers", `rc:${wanted}`)).toBeNull();
    expect(await usage("rc")).toBe(1000);
  });
});
