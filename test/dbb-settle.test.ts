// replica.settle on real servers: the coordinator names a quantum's accepted
// outputs and every other unlocked replica of them that the quantum produced
// (a lost attempt's) turns UNAVAILABLE and obsolete, and the reaper deletes
// it; replicas a rule holds, other producers' files and files whose kept
// replica is missing stay; registered again, an obsolete replica is wanted again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import { runDbb, type RunningDbb } from "../src/dbb/index.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { checksumBytes } from "../src/common/checksum.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { objectKey, s3ClientFor } from "../src/common/s3.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";
import { startTestServers, until, type TestServers } from "./harness.js";

const RSES = ["sa", "sb", "sc"];

describe("replica.settle", () => {
  let servers: TestServers;
  let dbb: RunningDbb;
  let nc: NatsConnection;
  let client: DbbClient;
  let redis: Redis;

  beforeAll(async () => {
    servers = await startTestServers("settle", RSES);
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url, judgeIntervalMs: 200, repairDelayMs: 200, reaperIntervalMs: 200 });
    nc = await connectNats(servers.nats.url, "settle-test");
    client = new DbbClient(nc);
    redis = new Redis(servers.redis.url);
    for (const name of RSES) await client.rseAdd({ name, site: `site-${name}`, endpoint: servers.s3.endpoint, bucket: name, tier: StorageTier.DISK });
  });

  afterAll(async () => {
    await nc?.close();
    await dbb?.close();
    redis?.disconnect();
    await servers?.stop();
  });

  /** An output file of `producedBy`, stored and registered at each of `at` (same bytes, as a deterministic payload's re-run makes). */
  async function output(producedBy: string, at: string[]): Promise<string> {
    const name = `out-${randomBytes(3).toString("hex")}.dat`;
    const data = randomBytes(500);
    const sum = checksumBytes(data);
    for (const r of at) {
      await s3ClientFor(servers.s3.endpoint).send(new PutObjectCommand({ Bucket: r, Key: objectKey({ prefix: "" }, "so", name), Body: data }));
      await client.register([{ file: { scope: "so", name, datasetType: "calexp", dataId: "{}", bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5 }, rse: r, producedBy }]);
    }
    return `so:${name}`;
  }
  const states = async (did: string) => Object.fromEntries((await client.replicas(did)).map((r) => [r.rse, r.state]));
  async function objectAt(did: string, r: string): Promise<boolean> {
    try {
      await s3ClientFor(servers.s3.endpoint).send(new HeadObjectCommand({ Bucket: r, Key: objectKey({ prefix: "" }, "so", did.slice(3)) }));
      return true;
    } catch {
      return false;
    }
  }

  it("makes a lost attempt's replica obsolete; the reaper deletes it and one AVAILABLE replica is left", async () => {
    const did = await output("c.isr.1", ["sa", "sb"]);
    expect(await states(did)).toEqual({ sa: "AVAILABLE", sb: "AVAILABLE" });
    expect(await client.settleOutputs("c.isr.1", [{ did, rse: "sb" }])).toEqual([{ did, rse: "sa" }]);
    expect(await states(did)).toEqual({ sa: "UNAVAILABLE", sb: "AVAILABLE" });
    expect(await redis.zscore("dbb:tombstones:sa", did)).toBe("0");
    await until("the obsolete replica reaped", async () => !(await objectAt(did, "sa")) && (await states(did))["sa"] === undefined);
    expect(await states(did)).toEqual({ sb: "AVAILABLE" });
    expect(await objectAt(did, "sb")).toBe(true);
    // Asked again (a retry, a late result): nothing more to do.
    expect(await client.settleOutputs("c.isr.1", [{ did, rse: "sb" }])).toEqual([]);
  });

  it("leaves replicas a rule holds, files another quantum produced, and files whose kept replica is not there", async () => {
    const locked = await output("c.isr.2", ["sa", "sb"]);
    await client.ruleAdd({ did: locked, rseExpression: "sa" });
    const other = await output("c.isr.3", ["sa", "sb"]);
    const missing = await output("c.isr.4", ["sa"]);
    expect(await client.settleOutputs("c.isr.2", [{ did: locked, rse: "sb" }])).toEqual([]);
    expect(await client.settleOutputs("c.isr.2", [{ did: other, rse: "sb" }])).toEqual([]);
    expect(await client.settleOutputs("c.isr.4", [{ did: missing, rse: "sc" }])).toEqual([]);
    expect(await states(locked)).toEqual({ sa: "AVAILABLE", sb: "AVAILABLE" });
    expect(await states(other)).toEqual({ sa: "AVAILABLE", sb: "AVAILABLE" });
    expect(await states(missing)).toEqual({ sa: "AVAILABLE" });
  });

  it("an obsolete replica registered again is AVAILABLE and no longer on the reaper's list", async () => {
    const did = await output("c.isr.5", ["sa", "sb"]);
    // A dbb whose reaper does not pass meanwhile.
    await dbb.close();
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url, judgeIntervalMs: 200, repairDelayMs: 200, reaperIntervalMs: 60_000 });
    expect(await client.settleOutputs("c.isr.5", [{ did, rse: "sb" }])).toEqual([{ did, rse: "sa" }]);
    const r = (await client.replicas(did)).find((x) => x.rse === "sa")!;
    await client.register([{ file: { scope: "so", name: did.slice(3), datasetType: "calexp", dataId: "{}", bytes: r.bytes, adler32: r.adler32, md5: r.md5 }, rse: "sa", producedBy: "c.isr.5" }]);
    expect(await states(did)).toEqual({ sa: "AVAILABLE", sb: "AVAILABLE" });
    expect(await redis.zscore("dbb:tombstones:sa", did)).toBeNull();
    expect(await redis.hget(`dbb:replica:sa:${did}`, "tombstone")).toBe("");
  });
});
