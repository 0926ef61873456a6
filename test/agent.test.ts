// The node agent as a user runs it (`orrery agent`, its own OS process)
// against real NATS, Redis, S3 and the real DBB, with a real gRPC server on
// loopback playing the coordinator: leases in, payloads run, results out.
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { checksumBytes } from "../src/common/checksum.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { objectKey, s3ClientFor } from "../src/common/s3.js";
import { startService, stopProcess, isAlive, type StartedService } from "../src/common/local/child.js";
import { runDbb, type RunningDbb } from "../src/dbb/index.js";
import type { LeaseSchema } from "../src/gen/orrery/v1/agent_link_pb.js";
import { AttemptOutcome, NodeKind, StorageTier } from "../src/gen/orrery/v1/common_pb.js";
import { startTestServers, tempDir, type TestServers } from "./harness.js";
import { TestCoordinator } from "./fixtures/agent/test-coordinator.js";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "orrery.mjs");
const RSE = { name: "site-a-disk", site: "site-a", bucket: "site-a-disk", prefix: "orrery" };
const DATA_ID = { instrument: "HSC", exposure: 903334, detector: 16 };
const RAW = Buffer.from("raw pixels of exposure 903334 detector 16\n".repeat(200));
const RAW_SUM = checksumBytes(RAW);


type LeaseInit = MessageInitShape<typeof LeaseSchema>;
const rawRef = { did: "hsc:raw/r_903334_16.fits", datasetType: "raw", dataId: JSON.stringify(DATA_ID), bytes: BigInt(RAW_SUM.bytes), adler32: RAW_SUM.adler32, md5: RAW_SUM.md5, rses: [RSE.name], role: "raw" };
interface LeaseChanges {
  command?: string[];
  inputs?: (typeof rawRef)[];
  resources?: { cores: number; memoryMb: number; timeLimitS?: number };
}
let leaseCount = 0;
function lease(changes: LeaseChanges = {}): LeaseInit & { leaseId: string } {
  const n = ++leaseCount;
  return {
    leaseId: `lease-${n}`,
    quantumId: `q-${n}`,
    attempt: 1,
    campaign: "agent-test",
    task: "calibrate",
    dataId: JSON.stringify(DATA_ID),
    command: changes.command ?? ["node", "test/fixtures/agent/calibrate.mjs", "{inputs.raw}", "{outputs.calexp}", "{config.gain}"],
    inputs: changes.inputs ?? [rawRef],
    outputs: [{ did: `drp:calexp/c_${n}.fits`, datasetType: "calexp", dataId: JSON.stringify(DATA_ID), role: "calexp" }],
    configJson: JSON.stringify({ gain: 2.5 }),
    resources: changes.resources ?? { cores: 1, memoryMb: 512, diskMb: 10 },
    outputCollection: "drp:agent-test/run1",
  };
}

describe("orrery agent", () => {
  let servers: TestServers;
  let dbb: RunningDbb;
  let nc: NatsConnection;
  let client: DbbClient;
  let coordinator: TestCoordinator;
  let agent: StartedService | undefined;
  let exitCode: Promise<number | null>;
  let dir: string;

  beforeAll(async () => {
    servers = await startTestServers("agent", [RSE.bucket]);
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
    nc = await connectNats(servers.nats.url, "agent-test");
    client = new DbbClient(nc);
    await client.rseAdd({ ...RSE, endpoint: servers.s3.endpoint, tier: StorageTier.DISK, output: true });
    const key = objectKey(RSE, "hsc", "raw/r_903334_16.fits");
    await s3ClientFor(servers.s3.endpoint).send(new PutObjectCommand({ Bucket: RSE.bucket, Key: key, Body: RAW }));
    await client.register([{ file: { scope: "hsc", name: "raw/r_903334_16.fits", datasetType: "raw", dataId: JSON.stringify(DATA_ID), bytes: BigInt(RAW_SUM.bytes), adler32: RAW_SUM.adler32, md5: RAW_SUM.md5 }, rse: RSE.name, path: key, originSite: "site-a" }]);
    coordinator = await TestCoordinator.start();
    dir = tempDir("agent-node");
    agent = await startService({
      name: "agent",
      command: process.execPath,
      args: [BIN, "agent", "--site", "site-a", "--id", "agent-test-1", "--cores", "4", "--memory", "4096", "--coordinator", coordinator.address, "--nats", servers.nats.url, "--work-dir", dir, "--software-root", ROOT],
      logFile: join(dir, "agent.log"),
      env: { ...process.env, ORRERY_TOKEN: "do-not-record-me", ORRERY_LOG_LEVEL: "info" },
      readiness: { kind: "ipc" },
    });
    const proc = agent.process;
    exitCode = new Promise((r) => proc.once("exit", (code) => r(code)));
  });

  afterAll(async () => {
    if (agent) await stopProcess(agent.pid, 3000);
    await coordinator?.stop();
    await dbb?.close();
    await nc?.close();
    await servers?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("says hello with its node and offers its whole capacity", async () => {
    expect(coordinator.hellos[0]).toMatchObject({ agentId: "agent-test-1", site: "site-a", kind: NodeKind.HPC, cores: 4, memoryMb: 4096 });
    const credit = await coordinator.waitFor("a credit", () => coordinator.credits[0]);
    expect(credit).toMatchObject({ freeCores: 4, freeMemoryMb: 4096 });
  });

  it("stages in, runs, stores and registers the output before reporting success", async () => {
    const l = lease();
    coordinator.lease(l);
    const r = await coordinator.result(l.leaseId);
    expect(r.message).toBe("");
    expect(r).toMatchObject({ outcome: AttemptOutcome.SUCCEEDED, exitCode: 0, quantumId: l.quantumId, attempt: 1 });
    const out = r.outputs[0]!;
    expect(out).toMatchObject({ role: "calexp", did: "drp:calexp/c_1.fits", rse: RSE.name });
    const obj = await s3ClientFor(servers.s3.endpoint).send(new GetObjectCommand({ Bucket: RSE.bucket, Key: objectKey(RSE, "drp", "calexp/c_1.fits") }));
    const bytes = Buffer.from(await obj.Body!.transformToByteArray());
    expect(bytes.toString()).toBe(`calibrated gain=2.5 quantum=q-1 detector=16\n${RAW.toString()}`);
    const sum = checksumBytes(bytes);
    expect({ bytes: Number(out.bytes), adler32: out.adler32, md5: out.md5 }).toEqual(sum);
    // Registered through JetStream and catalogued by the DBB.
    let catalogued = await client.replicas("drp:calexp/c_1.fits");
    for (let i = 0; i < 50 && catalogued.length === 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      catalogued = await client.replicas("drp:calexp/c_1.fits");
    }
    expect(catalogued).toMatchObject([{ rse: RSE.name, state: "AVAILABLE", md5: sum.md5, adler32: sum.adler32, bytes: BigInt(sum.bytes) }]);
    // Provenance: in the result and next to the outputs.
    const prov = JSON.parse(r.provenanceJson) as Record<string, unknown>;
    expect(prov).toMatchObject({ agentId: "agent-test-1", site: "site-a", kind: "hpc", exitCode: 0, config: { gain: 2.5 }, metrics: { inputBytes: RAW.length, gain: 2.5 } });
    expect(prov["inputs"]).toEqual([{ did: rawRef.did, role: "raw", bytes: RAW.length, adler32: RAW_SUM.adler32, md5: RAW_SUM.md5, source: RSE.name }]);
    expect(prov["command"]).toEqual(["node", join(ROOT, "test/fixtures/agent/calibrate.mjs"), expect.stringMatching(/inputs\/r_903334_16\.fits$/), expect.stringMatching(/c_1\.fits$/), "2.5"]);
    const env = prov["environment"] as Record<string, string>;
    expect(env["PATH"]).toBeDefined();
    expect(env["ORRERY_QUANTUM"]).toMatch(/quantum\.json$/);
    expect(env["ORRERY_TOKEN"]).toBeUndefined();
    const stored = await s3ClientFor(servers.s3.endpoint).send(new GetObjectCommand({ Bucket: RSE.bucket, Key: objectKey(RSE, "drp", "provenance/q-1/1.json") }));
    expect(JSON.parse(await stored.Body!.transformToString())).toMatchObject({ quantum: "q-1", outputs: [{ did: "drp:calexp/c_1.fits", md5: sum.md5 }] });
    expect(r.stdoutTail).toContain("calibrated");
  });

  it("reports a payload exiting 3 as payload_error with exit code 3, input from its cache", async () => {
    const l = lease({ command: ["node", "test/fixtures/agent/exit-with.mjs", "3", "{inputs.raw}"] });
    coordinator.lease(l);
    const r = await coordinator.result(l.leaseId);
    expect(r).toMatchObject({ outcome: AttemptOutcome.PAYLOAD_ERROR, exitCode: 3 });
    expect(r.stderrTail).toContain("error output before exit 3");
    expect(r.outputs).toEqual([]);
    expect((JSON.parse(r.provenanceJson) as { inputs: { source: string }[] }).inputs[0]!.source).toBe("cache");
  });

  it("kills a payload at its time limit: timeout", async () => {
    const l = lease({ command: ["node", "test/fixtures/agent/sleep-forever.mjs"], resources: { cores: 1, memoryMb: 512, timeLimitS: 1 } });
    coordinator.lease(l);
    const r = await coordinator.result(l.leaseId);
    expect(r.outcome).toBe(AttemptOutcome.TIMEOUT);
    expect(Number(r.endMs - r.startMs)).toBeGreaterThanOrEqual(1000);
  });

  it("reports a declared output the payload did not write, naming it", async () => {
    const l = lease({ command: ["node", "test/fixtures/agent/exit-with.mjs", "0"] });
    coordinator.lease(l);
    const r = await coordinator.result(l.leaseId);
    expect(r).toMatchObject({ outcome: AttemptOutcome.PAYLOAD_ERROR, exitCode: 0 });
    expect(r.message).toContain(`calexp drp:calexp/c_${leaseCount}.fits`);
  });

  it("refuses an unknown command template, naming it", async () => {
    const l = lease({ command: ["node", "test/fixtures/agent/calibrate.mjs", "{inputs.raw}", "{outputs.calexp}", "{config.nope}"] });
    coordinator.lease(l);
    const r = await coordinator.result(l.leaseId);
    expect(r.outcome).toBe(AttemptOutcome.PAYLOAD_ERROR);
    expect(r.message).toContain("{config.nope}");
  });

  it("refuses an input whose bytes do not match the catalog: stage_in_error naming the DID", async () => {
    const l = lease({ inputs: [{ ...rawRef, md5: "0123456789abcdef0123456789abcdef" }] });
    coordinator.lease(l);
    const r = await coordinator.result(l.leaseId);
    expect(r.outcome).toBe(AttemptOutcome.STAGE_IN_ERROR);
    expect(r.message).toContain(rawRef.did);
    expect(r.message).toContain("md5 mismatch");
  });

  it("reconnects after a coordinator restart and delivers the result it journaled meanwhile", async () => {
    const l = lease({ command: ["node", "test/fixtures/agent/calibrate.mjs", "{inputs.raw}", "{outputs.calexp}", "{config.gain}", "1200"] });
    coordinator.lease(l);
    await coordinator.waitFor("the lease running", () => coordinator.heartbeats.some((h) => h.running.includes(l.leaseId)));
    const port = coordinator.port;
    await coordinator.stop();
    await new Promise((r) => setTimeout(r, 1500)); // the payload finishes while no coordinator listens
    coordinator = await TestCoordinator.start(port);
    await coordinator.waitFor("a new hello", () => coordinator.hellos[0], 15_000);
    const r = await coordinator.result(l.leaseId);
    expect(r.outcome).toBe(AttemptOutcome.SUCCEEDED);
  });

  it("kills a cancelled lease's payload without reporting it, and offers its core again", async () => {
    const l = lease({ command: ["node", "test/fixtures/agent/sleep-forever.mjs"] });
    coordinator.lease(l);
    await coordinator.waitFor("the lease running", () => coordinator.heartbeats.some((h) => h.running.includes(l.leaseId)));
    const heartbeatsBefore = coordinator.heartbeats.length;
    coordinator.cancel(l.leaseId, "campaign cancelled");
    await coordinator.waitFor("a heartbeat without the lease", () => coordinator.heartbeats.slice(heartbeatsBefore).some((h) => !h.running.includes(l.leaseId)));
    expect(coordinator.credits.at(-1)).toMatchObject({ freeCores: 4 });
    expect(coordinator.results.some((r) => r.leaseId === l.leaseId)).toBe(false);
  });

  it("reports a lease whose run fails on the agent itself as agent_error, an infrastructure error, not a silent lost lease", async () => {
    // Scratch directories cannot be made: `leases` under the work dir is a file for this lease.
    const leases = join(dir, "leases");
    rmSync(leases, { recursive: true, force: true });
    writeFileSync(leases, "not a directory");
    try {
      const l = lease();
      coordinator.lease(l);
      const r = await coordinator.result(l.leaseId);
      expect(r.outcome).toBe(AttemptOutcome.AGENT_ERROR);
      expect(r.message).toMatch(/^agent error: the lease run failed on the agent: .*leases/);
    } finally {
      rmSync(leases, { force: true });
    }
  });

  it("on SIGTERM offers no more credit, reports running quanta as preempted and exits 0", async () => {
    const l = lease({ command: ["node", "test/fixtures/agent/sleep-forever.mjs"] });
    coordinator.lease(l);
    await coordinator.waitFor("the lease running", () => coordinator.heartbeats.some((h) => h.running.includes(l.leaseId)));
    const creditsBefore = coordinator.credits.length;
    process.kill(agent!.pid, "SIGTERM");
    const r = await coordinator.result(l.leaseId);
    expect(r.outcome).toBe(AttemptOutcome.PREEMPTED);
    expect(coordinator.credits.slice(creditsBefore)).toContainEqual(expect.objectContaining({ freeCores: 0, freeMemoryMb: 0 }));
    expect(await exitCode).toBe(0);
    expect(isAlive(agent!.pid)).toBe(false);
  });
});
