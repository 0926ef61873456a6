// Bad replicas as readers find them: `orrery dbb download` (the real CLI)
// verifies every file and, on a corrupted replica, declares it BAD and takes
// the other copy; the agent's stage-in does the same; the replica.bad
// endpoint refuses what it cannot trust.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { create } from "@bufbuild/protobuf";
import { Redis } from "ioredis";
import { runDbb, type RunningDbb } from "../src/dbb/index.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { checksumBytes } from "../src/common/checksum.js";
import { isOrreryError } from "../src/common/errors.js";
import { createLogger } from "../src/common/logger.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { objectKey, s3ClientFor } from "../src/common/s3.js";
import { DbbLookup, stageInFile } from "../src/agent/stage/index.js";
import { openAgentStore, type AgentStore } from "../src/agent/cache/index.js";
import { FileRefSchema } from "../src/gen/orrery/v1/common_pb.js";
import { startTestServers, tempDir, type TestServers } from "./harness.js";
import { orrery, orreryJson } from "./cli-runner.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";

describe("bad replicas and dbb download", () => {
  let servers: TestServers;
  let dbb: RunningDbb;
  let nc: NatsConnection;
  let client: DbbClient;
  let work: string;
  const contents = new Map<string, Buffer>();
  const dirs: string[] = [];
  const dir = (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    servers = await startTestServers("download", ["da", "db"]);
    // The reaper waits: a BAD replica without locks stays for the test to see.
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url, judgeIntervalMs: 200, repairDelayMs: 200, reaperIntervalMs: 600_000 });
    nc = await connectNats(servers.nats.url, "download-test");
    client = new DbbClient(nc);
    for (const name of ["da", "db"]) await client.rseAdd({ name, site: "site-d", endpoint: servers.s3.endpoint, bucket: name, tier: StorageTier.DISK });
    work = dir("download-work");
  });

  afterAll(async () => {
    await nc?.close();
    await dbb?.close();
    await servers?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const cli = (args: string[]) => ["dbb", "--nats", servers.nats.url, ...args];
  const put = (rse: string, did: string, body: Buffer) =>
    s3ClientFor(servers.s3.endpoint).send(new PutObjectCommand({ Bucket: rse, Key: objectKey({ prefix: "" }, "dl", did.slice(3)), Body: body }));

  /** `n` files of a new dataset stored at every RSE of `at`; returns the dataset and file DIDs. */
  async function dataset(tag: string, n: number, at: string[], bytes = 3000): Promise<{ did: string; files: string[] }> {
    const did = `dl:${tag}-${randomBytes(3).toString("hex")}`;
    const files: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `${did.slice(3)}/f${i}.fits`;
      const data = randomBytes(bytes);
      const sum = checksumBytes(data);
      files.push(`dl:${name}`);
      contents.set(`dl:${name}`, data);
      for (const r of at) await put(r, `dl:${name}`, data);
      await client.register(at.map((r) => ({ file: { scope: "dl", name, datasetType: "raw", dataId: JSON.stringify({ i }), bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5 }, rse: r, collection: did })));
    }
    return { did, files };
  }

  /** Same size, other bytes: only the checksums can tell. */
  const corrupt = (rse: string, did: string) => put(rse, did, randomBytes(contents.get(did)!.length));
  const stateAt = async (did: string, rse: string) => (await client.replicas(did)).find((r) => r.rse === rse)?.state;

  /** The rule is OK again and the replica at `rse` AVAILABLE with the file's own bytes. */
  async function recovered(did: string, rse: string, ruleId: string): Promise<void> {
    const end = Date.now() + 20_000;
    while ((await client.ruleShow(ruleId)).state !== "OK" && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await orreryJson(cli(["rule", "show", ruleId]))).toMatchObject({ state: "OK", locks: { OK: 1, REPLICATING: 0, STUCK: 0 } });
    expect(await stateAt(did, rse)).toBe("AVAILABLE");
    const got = await s3ClientFor(servers.s3.endpoint).send(new GetObjectCommand({ Bucket: rse, Key: objectKey({ prefix: "" }, "dl", did.slice(3)) }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(contents.get(did)!)).toBe(true);
  }

  it("downloads every file of a dataset into DIR/<scope>/<name>, verified", async () => {
    const ds = await dataset("all", 3, ["da", "db"]);
    const to = dir("download-all");
    expect(await orreryJson(cli(["download", ds.did, "--to", to]))).toEqual({ files: 3, bytes: 9000 });
    for (const f of ds.files) expect(readFileSync(join(to, "dl", f.slice(3))).equals(contents.get(f)!)).toBe(true);
    // Files already there intact are not fetched again; the answer is the same.
    expect(await orreryJson(cli(["download", ds.files[0]!, "--to", to]))).toEqual({ files: 1, bytes: 3000 });
  });

  it("declares a corrupted replica BAD and succeeds from the other copy; a locked one is copied again from it", async () => {
    const ds = await dataset("bad", 2, ["da", "db"]);
    const [locked, free] = ds.files as [string, string];
    const rule = await client.ruleAdd({ did: locked, rseExpression: "da" });
    expect(rule.state).toBe("OK");
    await corrupt("da", locked);
    await corrupt("da", free);
    const to = dir("download-bad");
    const r = await orrery(cli(["download", ds.did, "--to", to, "--json"]));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ files: 2, bytes: 6000 });
    expect(r.stderr).toMatch(new RegExp(`${locked} at da: adler32 mismatch: .*; the replica is now COPYING, trying another`));
    expect(r.stderr).toMatch(new RegExp(`${free} at da: adler32 mismatch: .*; the replica is now BAD, trying another`));
    for (const f of ds.files) expect(readFileSync(join(to, "dl", f.slice(3))).equals(contents.get(f)!)).toBe(true);
    // Rucio's declare-bad: the unlocked replica is BAD; the locked one is copied again from db by the transfer workers.
    expect(await stateAt(free, "da")).toBe("BAD");
    await recovered(locked, "da", rule.id);
  });

  it("exits 1 naming the file no replica of which is intact", async () => {
    const ds = await dataset("lost", 1, ["da"]);
    await corrupt("da", ds.files[0]!);
    const to = dir("download-lost");
    const r = await orrery(cli(["download", ds.did, "--to", to, "--json"]));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ files: 0, bytes: 0 });
    expect(r.stderr).toContain(`could not fetch ${ds.files[0]} intact: da: adler32 mismatch`);
    expect(existsSync(join(to, "dl", ds.files[0]!.slice(3)))).toBe(false);
    expect(existsSync(join(to, "dl", `${ds.files[0]!.slice(3)}.orrery-part`))).toBe(false);
    expect(await stateAt(ds.files[0]!, "da")).toBe("BAD");
  });

  it("refuses (exit 2) a --to that is not a writable directory and names that would escape it", async () => {
    const ds = await dataset("refuse", 1, ["db"]);
    const missing = await orrery(cli(["download", ds.did, "--to", join(work, "nope")]));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("is not a directory");
    writeFileSync(join(work, "a-file"), "x");
    expect((await orrery(cli(["download", ds.did, "--to", join(work, "a-file")]))).code).toBe(2);

    const sum = checksumBytes(Buffer.from("x"));
    const name = `../../escape-${randomBytes(3).toString("hex")}`;
    await client.register([{ file: { scope: "dl", name, datasetType: "raw", dataId: "{}", bytes: 1n, adler32: sum.adler32, md5: sum.md5 }, rse: "db" }]);
    const to = dir("download-escape");
    const escape = await orrery(cli(["download", `dl:${name}`, "--to", to]));
    expect(escape.code).toBe(2);
    expect(escape.stderr).toContain("would be written outside --to");
  });

  describe("agent stage-in", () => {
    let store: AgentStore;
    let scratch: string;
    beforeAll(() => {
      scratch = dir("stage-in");
      store = openAgentStore(join(scratch, "cache"), 1_000_000);
    });
    afterAll(() => store?.close());

    it("declares a corrupted replica BAD, stages in from the other copy, and the rule's copy is recovered from it", async () => {
      const ds = await dataset("stage", 1, ["da", "db"]);
      const did = ds.files[0]!;
      const rule = await client.ruleAdd({ did, rseExpression: "da" });
      await corrupt("da", did);
      const sum = checksumBytes(contents.get(did)!);
      const ref = create(FileRefSchema, { did, datasetType: "raw", bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5, rses: ["da", "db"], role: "raw" });
      const ctx = { site: "site-d", cache: store.cache, dbb: new DbbLookup(nc), log: createLogger("stage-in-test") };
      const staged = await stageInFile(ref, join(scratch, "input.fits"), ctx);
      staged.release();
      expect(staged.source).toBe("db");
      expect(readFileSync(join(scratch, "input.fits")).equals(contents.get(did)!)).toBe(true);
      await recovered(did, "da", rule.id);
    });

    it("waits for a replica the catalog does not list yet (its registration is still in the stream), not for a BAD one", async () => {
      const lookup = new DbbLookup(nc);
      // Registered 1.5 s after the ask: the way a downstream lease can overtake the dbb's consumer.
      const name = `late-${randomBytes(3).toString("hex")}/f0.fits`;
      const data = randomBytes(2000);
      const sum = checksumBytes(data);
      await put("da", `dl:${name}`, data);
      const asked = lookup.replicaUrl(`dl:${name}`, "da");
      await new Promise((r) => setTimeout(r, 1500));
      await client.register([{ file: { scope: "dl", name, datasetType: "raw", dataId: "{}", bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5 }, rse: "da" }]);
      expect(await asked).toMatch(/X-Amz-Signature=/);

      const bad = (await dataset("gone", 1, ["da"])).files[0]!;
      await client.declareBad(bad, "da", "test: bytes lost");
      const t0 = Date.now();
      await expect(lookup.replicaUrl(bad, "da")).rejects.toThrow(/no AVAILABLE replica/);
      expect(Date.now() - t0).toBeLessThan(2000);
    });

    it("leaves a replica alone when the lease's checksums, not the bytes, are wrong", async () => {
      const ds = await dataset("stale", 1, ["da"]);
      const did = ds.files[0]!;
      const ref = create(FileRefSchema, { did, datasetType: "raw", bytes: 3000n, adler32: "00000001", md5: "0123456789abcdef0123456789abcdef", rses: ["da"], role: "raw" });
      const ctx = { site: "site-d", cache: store.cache, dbb: new DbbLookup(nc), log: createLogger("stage-in-test") };
      await expect(stageInFile(ref, join(scratch, "stale.fits"), ctx)).rejects.toThrow(/adler32 mismatch/);
      expect(await stateAt(did, "da")).toBe("AVAILABLE");
    });
  });

  it("replica.bad refuses a malformed DID or RSE, caps the reason, and answers NOT_FOUND for no replica", async () => {
    const code = async (p: Promise<unknown>) => p.then(() => "ok", (err: unknown) => (isOrreryError(err) ? err.code : String(err)));
    expect(await code(client.declareBad("no-colon", "da", "x"))).toBe("INVALID_ARGUMENT");
    expect(await code(client.declareBad("dl:f", "DA:x", "x"))).toBe("INVALID_ARGUMENT");
    expect(await code(client.declareBad("dl:f", "da", " \n "))).toBe("INVALID_ARGUMENT");
    expect(await code(client.declareBad("dl:not-there", "da", "x"))).toBe("NOT_FOUND");
    const ds = await dataset("cap", 1, ["da", "db"]);
    expect(await client.declareBad(ds.files[0]!, "da", `md5 mismatch ${"x".repeat(5000)}\nforged log line`)).toBe("BAD");
    const redis = new Redis(servers.redis.url);
    try {
      const lastError = (await redis.hget(`dbb:replica:da:${ds.files[0]!}`, "lastError")) ?? "";
      expect(lastError.length).toBe(500);
      expect(lastError).not.toContain("\n");
    } finally {
      redis.disconnect();
    }
  });
});
