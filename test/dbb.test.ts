import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Command } from "commander";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { Subscription } from "@nats-io/transport-node";
import { runDbb, ingest, entriesFromFiles, entriesFromManifest, type RunningDbb, type IngestProgress } from "../src/dbb/index.js";
import { DbbClient, publishReplicaRegistration, type ReplicaRegistrationInit } from "../src/common/dbb-client.js";
import { checksumBytes } from "../src/common/checksum.js";
import { connectNats, dbbRequest, type NatsConnection } from "../src/common/nats.js";
import { FileQueryRequestSchema, FileQueryResponseSchema } from "../src/gen/orrery/v1/dbb_pb.js";
import { s3ClientFor } from "../src/common/s3.js";
import { Streams, Subjects } from "../src/common/subjects.js";
import { isOrreryError, type OrreryError } from "../src/common/errors.js";
import { registerDbbCommands } from "../src/cli/dbb.js";
import { startTestServers, type TestServers } from "./harness.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";

const DISK = "dbb-disk";
const TAPE = "dbb-tape";

describe("data backbone", () => {
  let servers: TestServers;
  let dbb: RunningDbb | undefined;
  let nc: NatsConnection | undefined;
  let client: DbbClient;
  let events: Subscription;
  const seen: { did: string; rse: string; state: string }[] = [];
  let data: string;

  beforeAll(async () => {
    servers = await startTestServers("dbb", [DISK, TAPE]);
    data = join(servers.dir, "data");
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
    nc = await connectNats(servers.nats.url, "dbb-test");
    client = new DbbClient(nc);
    events = nc.subscribe(Subjects.replicaEvents, { callback: (_e, m) => void seen.push(m.json()) });
    await client.rseAdd({ name: "test-disk", site: "site-t", endpoint: servers.s3.endpoint, bucket: DISK, tier: StorageTier.DISK, output: true });
    await client.rseAdd({ name: "test-tape", site: "site-t", endpoint: servers.s3.endpoint, bucket: TAPE, tier: StorageTier.CUSTODIAL, prefix: "archive", attributes: { archive: "true" } });
  });

  afterAll(async () => {
    events?.unsubscribe();
    await nc?.close();
    await dbb?.close();
    s3ClientFor(servers.s3.endpoint).destroy();
    await servers?.stop();
  });

  function writeData(rel: string, bytes: Uint8Array): string {
    const file = join(data, rel);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, bytes);
    return file;
  }

  async function download(bucket: string, key: string): Promise<Uint8Array> {
    const got = await s3ClientFor(servers.s3.endpoint).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return got.Body!.transformToByteArray();
  }

  async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 5000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await read().catch(() => undefined as T);
      if (value !== undefined && ok(value)) return value;
      if (Date.now() > end) throw new Error(`condition not met in ${ms} ms; last value ${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("adds and lists RSEs, one output RSE per site", async () => {
    const all = await client.rseList();
    expect(all.map((r) => [r.name, r.site, r.tier, r.output])).toEqual([
      ["test-disk", "site-t", StorageTier.DISK, true],
      ["test-tape", "site-t", StorageTier.CUSTODIAL, false],
    ]);
    expect(all[1]).toMatchObject({ prefix: "archive", attributes: { archive: "true" }, bucket: TAPE });
    expect(await client.rseList("elsewhere")).toEqual([]);

    await client.rseAdd({ name: "test-scratch", site: "site-t", endpoint: servers.s3.endpoint, bucket: DISK, tier: StorageTier.SCRATCH, output: true, quotaBytes: 1000n });
    const after = await client.rseList("site-t");
    expect(after.filter((r) => r.output).map((r) => r.name)).toEqual(["test-scratch"]);
    expect(after.find((r) => r.name === "test-scratch")?.quotaBytes).toBe(1000n);
    await client.rseAdd({ name: "test-disk", site: "site-t", endpoint: servers.s3.endpoint, bucket: DISK, tier: StorageTier.DISK, output: true });

    const refused = await client.rseAdd({ name: "Bad_Name", site: "s", endpoint: servers.s3.endpoint, bucket: DISK }).catch((e: unknown) => e);
    expect(isOrreryError(refused, "INVALID_ARGUMENT")).toBe(true);
    expect((refused as Error).message).toContain('rse.name "Bad_Name"');
    const badTier = await client.rseAdd({ name: "x", site: "s", endpoint: servers.s3.endpoint, bucket: DISK, tier: 42 as StorageTier }).catch((e: unknown) => e);
    expect((badTier as Error).message).toContain("rse.tier 42 is not a StorageTier");
  });

  it("ingests a manifest: every file uploaded and AVAILABLE with the checksums of the stored object", async () => {
    const contents = [randomBytes(1), randomBytes(70_000), randomBytes(6 * 1024 * 1024)];
    const lines = contents.map((bytes, i) => {
      writeData(`ingest/raw/r_${i}.fits`, bytes);
      return JSON.stringify({ path: `raw/r_${i}.fits`, scope: "hsc", datasetType: "raw", dataId: { instrument: "HSC", exposure: 903334, detector: i }, metadata: { obsTime: "2026-03-01T04:05:06Z" }, validFrom: null, validTo: null });
    });
    const manifest = writeData("ingest/manifest.jsonl", Buffer.from(lines.join("\n")));
    const progress: IngestProgress[] = [];
    const result = await ingest({ client, rse: "test-disk", entries: await entriesFromManifest(manifest), dataset: "hsc:ingest-1", onProgress: (p) => progress.push(p) });
    const total = contents.reduce((n, c) => n + c.length, 0);
    expect(result).toEqual({ ingested: 3, bytes: total });
    expect(progress.at(-1)).toEqual({ files: 3, totalFiles: 3, bytes: total, totalBytes: total });

    for (const [i, bytes] of contents.entries()) {
      const replicas = await client.replicas(`hsc:raw/r_${i}.fits`);
      expect(replicas).toHaveLength(1);
      const r = replicas[0]!;
      expect(r).toMatchObject({ rse: "test-disk", state: "AVAILABLE", path: `hsc/raw/r_${i}.fits` });
      const stored = checksumBytes(await download(DISK, r.path));
      expect({ bytes: Number(r.bytes), adler32: r.adler32, md5: r.md5 }).toEqual(stored);
      expect(stored).toEqual(checksumBytes(bytes));
    }

    const files = await client.files("hsc", ["raw"]);
    // Files come in no particular order (the catalog pages through its index).
    const mine = files.filter((f) => f.file?.name.startsWith("raw/r_")).sort((a, b) => a.file!.name.localeCompare(b.file!.name));
    expect(mine.map((f) => f.file?.name)).toEqual(["raw/r_0.fits", "raw/r_1.fits", "raw/r_2.fits"]);
    expect(JSON.parse(mine[1]!.file!.dataId)).toEqual({ detector: 1, exposure: 903334, instrument: "HSC" });
    expect(JSON.parse(mine[1]!.file!.metadata)).toEqual({ obsTime: "2026-03-01T04:05:06Z" });
    expect(mine.every((f) => f.replicas.length === 1 && f.replicas[0]!.state === "AVAILABLE")).toBe(true);

    const collection = await client.replicas("hsc:ingest-1");
    expect(collection.map((r) => [r.did, r.rse, r.state])).toEqual([0, 1, 2].map((i) => [`hsc:raw/r_${i}.fits`, "test-disk", "AVAILABLE"]));
    expect(seen).toContainEqual({ did: "hsc:raw/r_2.fits", rse: "test-disk", state: "AVAILABLE" });
  });

  it("refuses a manifest with a bad line, naming line and field, and stores nothing", async () => {
    const lines = [0, 1, 2].map((i) => {
      writeData(`bad/raw/b_${i}.fits`, randomBytes(10));
      return JSON.stringify({ path: `raw/b_${i}.fits`, scope: "hsc", datasetType: "raw", dataId: i === 2 ? "HSC" : { detector: i } });
    });
    const manifest = writeData("bad/manifest.jsonl", Buffer.from(lines.join("\n")));
    const err = await entriesFromManifest(manifest).catch((e: unknown) => e);
    expect(isOrreryError(err, "SPEC_INVALID")).toBe(true);
    expect((err as Error).message).toContain("manifest.jsonl:3: dataId: expected an object");

    writeData("missing/manifest.jsonl", Buffer.from(JSON.stringify({ path: "raw/nope.fits", scope: "hsc", datasetType: "raw", dataId: {} })));
    const missing = await entriesFromManifest(join(data, "missing/manifest.jsonl")).catch((e: unknown) => e);
    expect((missing as Error).message).toContain("manifest.jsonl:1: path: raw/nope.fits does not exist");

    const listed = await s3ClientFor(servers.s3.endpoint).send(new ListObjectsV2Command({ Bucket: DISK, Prefix: "hsc/raw/b_" }));
    expect(listed.KeyCount ?? 0).toBe(0);
    const lookup = await client.replicas("hsc:raw/b_0.fits").catch((e: unknown) => e);
    expect(isOrreryError(lookup, "NOT_FOUND")).toBe(true);
    expect((lookup as OrreryError).hint).toContain("orrery dbb ingest");
  });

  it("catalogues a registration published to JetStream and terminates what cannot be registered", async () => {
    const bytes = randomBytes(500);
    const sums = checksumBytes(bytes);
    const reg: ReplicaRegistrationInit = {
      file: { scope: "hsc-drp", name: "calexp/c_1.fits", datasetType: "calexp", dataId: JSON.stringify({ detector: 1 }), bytes: BigInt(sums.bytes), adler32: sums.adler32, md5: sums.md5 },
      rse: "test-disk",
      path: "hsc-drp/calexp/c_1.fits",
      collection: "hsc-drp:run1/calexp",
      producedBy: "q-123",
    };
    const js = jetstream(nc!);
    await js.publish(Subjects.replicaRegister, new Uint8Array([0xff, 0xff, 0xff]));
    await publishReplicaRegistration(js, { ...reg, rse: "no-such-rse" });
    const ack = await publishReplicaRegistration(js, reg);
    expect(ack.stream).toBe(Streams.replicas.name);

    const replicas = await eventually(() => client.replicas("hsc-drp:calexp/c_1.fits"), (r) => r.length === 1);
    expect(replicas[0]).toMatchObject({ rse: "test-disk", state: "AVAILABLE", adler32: sums.adler32, md5: sums.md5, bytes: 500n });
    expect((await client.replicas("hsc-drp:run1/calexp")).map((r) => r.did)).toEqual(["hsc-drp:calexp/c_1.fits"]);
    await eventually(async () => seen, (s) => s.some((e) => e.did === "hsc-drp:calexp/c_1.fits" && e.state === "AVAILABLE"));

    // The bad messages were terminated, not left for redelivery, and the stream is drained.
    const jsm = await jetstreamManager(nc!);
    const info = await eventually(() => jsm.consumers.info(Streams.replicas.name, "dbb-catalog"), (i) => i.num_ack_pending === 0 && i.num_pending === 0);
    expect(info.num_redelivered).toBe(0);
    expect((await client.replicas("hsc-drp:calexp/c_1.fits").then((r) => r.map((x) => x.rse)))).toEqual(["test-disk"]);
  });

  it("keeps a repeated registration a no-op, and re-ingest of new bytes updates checksums and marks other copies BAD", async () => {
    const file = writeData("calib/bias_1.fits", randomBytes(2000));
    const entries = () => entriesFromFiles({ files: [file], scope: "hsc", datasetType: "bias", dataId: { instrument: "HSC", detector: 1 } });
    await ingest({ client, rse: "test-disk", entries: await entries() });
    const [disk] = await client.replicas("hsc:bias_1.fits");
    const copy: ReplicaRegistrationInit = {
      file: { scope: "hsc", name: "bias_1.fits", datasetType: "bias", dataId: JSON.stringify({ instrument: "HSC", detector: 1 }), bytes: disk!.bytes, adler32: disk!.adler32, md5: disk!.md5 },
      rse: "test-tape",
    };
    expect(await client.register([copy])).toBe(1);
    const eventsBefore = seen.length;
    expect(await client.register([copy])).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.length).toBe(eventsBefore);
    expect((await client.replicas("hsc:bias_1.fits")).map((r) => [r.rse, r.state, r.path])).toEqual([
      ["test-disk", "AVAILABLE", "hsc/bias_1.fits"],
      ["test-tape", "AVAILABLE", "archive/hsc/bias_1.fits"],
    ]);

    const fresh = randomBytes(3000);
    writeFileSync(file, fresh);
    await ingest({ client, rse: "test-disk", entries: await entries() });
    const sums = checksumBytes(fresh);
    const after = await client.replicas("hsc:bias_1.fits");
    expect(after.map((r) => [r.rse, r.state])).toEqual([
      ["test-disk", "AVAILABLE"],
      ["test-tape", "BAD"],
    ]);
    expect({ bytes: Number(after[0]!.bytes), adler32: after[0]!.adler32, md5: after[0]!.md5 }).toEqual(sums);
    expect(checksumBytes(await download(DISK, after[0]!.path))).toEqual(sums);
    const [catalogued] = await client.files("hsc", ["bias"]);
    expect({ bytes: Number(catalogued!.file!.bytes), adler32: catalogued!.file!.adler32, md5: catalogued!.file!.md5 }).toEqual(sums);
    expect(seen).toContainEqual({ did: "hsc:bias_1.fits", rse: "test-tape", state: "BAD" });
  });

  it("answers a large file query in pages, each under the NATS message limit, with every file once", async () => {
    const n = 2500;
    for (let i = 0; i < n; i += 500) {
      const batch = Array.from({ length: Math.min(500, n - i) }, (_, k) => {
        const j = i + k;
        return { file: { scope: "paged", name: `frame_${j}.fits`, datasetType: "frame", dataId: JSON.stringify({ frame: j }), bytes: 10n, adler32: "00000001", md5: "0".repeat(32) }, rse: "test-disk", path: `paged/frame_${j}.fits` };
      });
      expect(await client.register(batch)).toBe(batch.length);
    }
    const first = await dbbRequest(nc!, "files", FileQueryRequestSchema, { scope: "paged", datasetTypes: ["frame"], pageSize: 300 }, FileQueryResponseSchema);
    expect(first.files.length).toBeGreaterThan(0);
    expect(first.files.length).toBeLessThan(n);
    expect(first.nextPageToken).not.toBe("");
    const all = await client.files("paged", ["frame"], 300);
    expect(new Set(all.map((f) => f.file!.name)).size).toBe(n);
    expect(all).toHaveLength(n);
    const bad = await dbbRequest(nc!, "files", FileQueryRequestSchema, { scope: "paged", datasetTypes: ["frame"], pageToken: "nonsense" }, FileQueryResponseSchema).catch((e: unknown) => e);
    expect(isOrreryError(bad, "INVALID_ARGUMENT")).toBe(true);
  });

  describe("CLI", () => {
    async function run(...args: string[]): Promise<string> {
      const program = new Command("orrery").option("--cluster <file>").option("--json").exitOverride();
      registerDbbCommands(program);
      let out = "";
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
      try {
        await program.parseAsync(["--json", "dbb", "--nats", servers.nats.url, ...args], { from: "user" });
      } finally {
        process.stdout.write = write;
      }
      return out;
    }

    it("ingests files given on the command line and shows their replicas as JSON", async () => {
      const file = writeData("cli/flat_7.fits", randomBytes(1234));
      const result: unknown = JSON.parse(await run("ingest", "--rse", "test-disk", file, "--scope", "hsc", "--dataset-type", "flat", "--data-id", "instrument=HSC", "--data-id", "detector=7"));
      expect(result).toEqual({ ingested: 1, bytes: 1234 });
      const rows: unknown = JSON.parse(await run("replicas", "hsc:flat_7.fits"));
      expect(rows).toEqual([{ did: "hsc:flat_7.fits", rse: "test-disk", state: "AVAILABLE", bytes: 1234, ...pick(checksumBytes(await download(DISK, "hsc/flat_7.fits"))), producedBy: null }]);
      const [f] = await client.files("hsc", ["flat"]);
      expect(JSON.parse(f!.file!.dataId)).toEqual({ detector: 7, instrument: "HSC" });
      const rses = JSON.parse(await run("rse", "list")) as { name: string }[];
      expect(rses.map((r) => r.name)).toContain("test-tape");
    });

    it("refuses bad input naming the flag", async () => {
      const err = await run("ingest", "--rse", "test-disk", "x.fits", "--scope", "hsc", "--data-id", "a=1").catch((e: unknown) => e);
      expect(isOrreryError(err, "INVALID_ARGUMENT")).toBe(true);
      expect((err as Error).message).toContain("--dataset-type is missing");
      const unknownRse = await run("ingest", "--rse", "nowhere", join(data, "cli/flat_7.fits"), "--scope", "hsc", "--dataset-type", "flat", "--data-id", "a=1").catch((e: unknown) => e);
      expect(isOrreryError(unknownRse, "NOT_FOUND")).toBe(true);
      expect((unknownRse as Error).message).toContain('RSE "nowhere"');
    });
  });
});

function pick(sums: { adler32: string; md5: string }): { adler32: string; md5: string } {
  return { adler32: sums.adler32, md5: sums.md5 };
}
