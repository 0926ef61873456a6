// The closed local cluster's NATS, Redis and S3 (issue 9 item 4): each refuses
// what has no credentials or the wrong ones, and a role may do only its part.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Redis } from "ioredis";
import { addAgent, roleEnv, startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import { readCluster } from "../src/common/local/cluster-store.js";
import { isAlive, stopProcess } from "../src/common/local/child.js";
import { hasS3Key } from "../src/common/s3.js";
import { fetchObject } from "../src/common/replica-fetch.js";
import { natsAuthOf } from "../src/common/local/cluster-security.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { restartProcess } from "../src/common/local/restart.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { ErrorCode } from "../src/common/errors.js";
import { checksumBytes } from "../src/common/checksum.js";
import { connectRedis } from "../src/dbb/catalog/catalog.js";
import { Streams, Subjects } from "../src/common/subjects.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";
import { ReplicaRegistrationSchema } from "../src/gen/orrery/v1/dbb_pb.js";
import { orrery } from "./cli-runner.js";
import { tempDir } from "./harness.js";

const dir = tempDir("orrery-security");
let cluster: ClusterFile;
const open: NatsConnection[] = [];

async function natsAs(role: "operator" | "agent" | "coordinator"): Promise<NatsConnection> {
  const nc = await connectNats(cluster.nats, `security-test-${role}`, natsAuthOf(cluster, role));
  open.push(nc);
  return nc;
}

function s3(endpoint: string, key: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { ...key }, maxAttempts: 1 });
}

async function s3Error(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("the S3 request was not refused");
}

beforeAll(async () => {
  cluster = await startCluster({ dir, sites: 2, agents: 0 });
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  await stopCluster(dir);
});

describe("a closed local cluster", () => {
  it("keeps its secrets in files only its owner reads", () => {
    expect(cluster.security?.nats?.agent.password).toBeTruthy();
    expect(statSync(join(dir, "cluster.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "data", "nats", "nats.conf")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "data", "redis", "redis.conf")).mode & 0o777).toBe(0o600);
  });

  it("NATS refuses a client without a password or with a wrong one, and the CLI exits 2 saying so", async () => {
    await expect(connectNats(cluster.nats, "no-password", { user: "" })).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED, message: expect.stringMatching(/refused the connection: it needs a user and password/) });
    await expect(connectNats(cluster.nats, "wrong", { user: "agent", password: "not-it" })).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED, message: expect.stringMatching(/refused user "agent": wrong user or password/) });
    const env = { ...process.env, ORRERY_NATS_USER: "operator", ORRERY_NATS_PASSWORD: "wrong" };
    const r = await orrery(["--cluster", join(dir, "cluster.json"), "dbb", "rse", "list"], { env, timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refused user "operator": wrong user or password/);
    const ok = await orrery(["--cluster", join(dir, "cluster.json"), "dbb", "rse", "list"], { timeoutMs: 30_000 });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it("the agent user may read RSEs but not add one, change a policy or delete a rule, nor listen on dbb.>", async () => {
    const agent = new DbbClient(await natsAs("agent"), 10_000);
    expect((await agent.rseList()).map((r) => r.name)).toContain("site-a-disk");
    const started = Date.now();
    await expect(agent.rseAdd({ name: "evil", site: "site-a", endpoint: "http://x", bucket: "b", tier: StorageTier.DISK })).rejects.toMatchObject({
      code: ErrorCode.PERMISSION_DENIED,
      message: expect.stringContaining("permission to publish to dbb.rse.add"),
    });
    await expect(agent.policySet("{}")).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED, message: expect.stringContaining("dbb.policy.set") });
    await expect(agent.ruleDelete("any")).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED, message: expect.stringContaining("dbb.rule.delete") });
    expect(Date.now() - started).toBeLessThan(5000); // refused, not timed out
    const sub = (await natsAs("agent")).subscribe("dbb.>");
    expect(await sub.closed).toBeInstanceOf(Error);
    // The coordinator reads the catalog but cannot change RSEs either.
    await expect(new DbbClient(await natsAs("coordinator"), 10_000).rseAdd({ name: "evil", site: "site-a", endpoint: "http://x", bucket: "b" })).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED });
  });

  it("gives each agent its own NATS user, which hears only its own replies; an agent added later gets one too", async () => {
    const a = await addAgent(dir, "site-a", false);
    const b = await addAgent(dir, "site-b", false);
    cluster = readCluster(dir)!;
    const users = cluster.security!.nats!.agents!;
    expect(Object.keys(users).sort()).toEqual([a.name, b.name].sort());
    // Each agent started, so nats-server (reloaded for each) let its user in.
    expect(isAlive(a.pid) && isAlive(b.pid)).toBe(true);
    const ownA = natsAuthOf(cluster, "agent", a.name);
    const ownB = natsAuthOf(cluster, "agent", b.name);
    expect(ownA.inboxPrefix).not.toBe(ownB.inboxPrefix);
    const asA = await connectNats(cluster.nats, "security-test-agent-a", ownA);
    open.push(asA);
    expect((await new DbbClient(asA, 10_000).rseList()).length).toBeGreaterThan(0); // its own replies reach it
    for (const subject of [`${ownB.inboxPrefix!}.>`, "_INBOX_agent.>", "_INBOX.>"]) {
      const nc = await connectNats(cluster.nats, "security-test-agent-a", ownA);
      open.push(nc);
      expect(await nc.subscribe(subject).closed, subject).toBeInstanceOf(Error);
    }
    await expect(connectNats(cluster.nats, "wrong", { user: users[b.name]!.user, password: users[a.name]!.password })).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED });
    // nats-server reloaded its users with JetStream still on: the registrations' stream answers.
    const jsm = await jetstreamManager(await natsAs("operator"));
    expect((await jsm.streams.info(Streams.replicas.name)).config.name).toBe(Streams.replicas.name);
    await stopProcess(a.pid, 10_000);
    await stopProcess(b.pid, 10_000);
  });

  it("Redis refuses a client without the password", async () => {
    const bare = new Redis(cluster.redis, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });

    const refusal = new Promise<Error>((resolve) => bare.once("error", resolve));
    await expect(bare.connect().then(() => bare.ping())).rejects.toThrow();
    expect((await refusal).message).toMatch(/NOAUTH/);
    bare.disconnect();
    const before = process.env["ORRERY_REDIS_PASSWORD"];
    delete process.env["ORRERY_REDIS_PASSWORD"];
    try {
      await expect(connectRedis(cluster.redis, "security-test")).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE, message: expect.stringMatching(/Redis at .* refused the connection: wrong or missing password/) });
    } finally {
      if (before !== undefined) process.env["ORRERY_REDIS_PASSWORD"] = before;
    }
    const authed = new Redis(cluster.redis, { password: cluster.security!.redisPassword!, lazyConnect: true });
    await authed.connect();
    expect(await authed.ping()).toBe("PONG");
    authed.disconnect();
  });

  it("a site's S3 refuses the dummy key, another site's key, a bad signature and anonymous reads", async () => {
    const a = cluster.s3["site-a"]!;
    const keyA = cluster.security!.s3!["site-a"]!;
    const keyB = cluster.security!.s3!["site-b"]!;
    const list = (c: S3Client) => c.send(new ListObjectsV2Command({ Bucket: "site-a-disk" }));
    expect(await list(s3(a, keyA))).toMatchObject({ $metadata: { httpStatusCode: 200 } });
    expect(await s3Error(list(s3(a, { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" })))).toEqual({ name: "InvalidAccessKeyId", status: 403 });
    expect(await s3Error(list(s3(a, keyB)))).toEqual({ name: "InvalidAccessKeyId", status: 403 });
    expect(await s3Error(list(s3(a, { accessKeyId: keyA.accessKeyId, secretAccessKey: "wrong" })))).toEqual({ name: "SignatureDoesNotMatch", status: 403 });
    const anonymous = await fetch(`${a}/site-a-disk?list-type=2`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain("<Code>AccessDenied</Code>");
  });

  it("an agent registers its output through JetStream, and an agent of another site reads it by a presigned URL only", async () => {
    const bytes = randomBytes(3000);
    const sums = checksumBytes(bytes);
    const keyA = cluster.security!.s3!["site-a"]!;
    await s3(cluster.s3["site-a"]!, keyA).send(new PutObjectCommand({ Bucket: "site-a-disk", Key: "sec/out_1.dat", Body: bytes }));
    const agent = await natsAs("agent");
    const reg = create(ReplicaRegistrationSchema, {
      file: { scope: "sec", name: "out_1.dat", datasetType: "out", dataId: "{}", bytes: BigInt(sums.bytes), adler32: sums.adler32, md5: sums.md5 },
      rse: "site-a-disk",
      path: "sec/out_1.dat",
    });
    await jetstream(agent).publish(Subjects.replicaRegister, toBinary(ReplicaRegistrationSchema, reg), { msgID: "security-test-1", timeout: 10_000 });
    const client = new DbbClient(agent, 10_000);
    const catalogued = () => client.replicas("sec:out_1.dat").then((r) => r.some((x) => x.state === "AVAILABLE"), () => false);
    for (let i = 0; i < 100 && !(await catalogued()); i++) await new Promise((r) => setTimeout(r, 100));
    const url = await client.replicaUrl("sec:out_1.dat", "site-a-disk");
    // What an agent of site-b holds: its own site's key only, so it reads site-a by the URL.
    const saved = process.env["ORRERY_S3_KEYS"];
    process.env["ORRERY_S3_KEYS"] = roleEnv(cluster, "agent", "site-b")["ORRERY_S3_KEYS"];
    try {
      expect(hasS3Key(cluster.s3["site-a"]!)).toBe(false);
      expect(hasS3Key(cluster.s3["site-b"]!)).toBe(true);
      const target = join(dir, "fetched.dat");
      expect(await fetchObject({ endpoint: cluster.s3["site-a"]!, bucket: "site-a-disk", key: "sec/out_1.dat", url }, target)).toEqual(sums);
    } finally {
      if (saved === undefined) delete process.env["ORRERY_S3_KEYS"];
      else process.env["ORRERY_S3_KEYS"] = saved;
    }
    const got = await fetch(url);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
    // The URL reads that object only: another key, or a changed signature, is refused.
    const other = url.replace("out_1.dat", "out_2.dat");
    expect((await fetch(other)).status).toBe(403);
    const tampered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`);
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
    await expect(client.replicaUrl("sec:no-such.dat", "site-a-disk")).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
  });

  it("local restart brings nats, redis and an S3 back with the same credentials", async () => {
    for (const name of ["nats", "redis", "s3-site-a"]) await restartProcess(dir, name);
    expect(readCluster(dir)?.security).toEqual(cluster.security);
    const op = new DbbClient(await natsAs("operator"), 30_000);
    expect((await op.rseList()).length).toBe(3);
    await expect(connectNats(cluster.nats, "wrong", { user: "agent", password: "not-it" })).rejects.toMatchObject({ code: ErrorCode.PERMISSION_DENIED });
    const got = await s3(cluster.s3["site-a"]!, cluster.security!.s3!["site-a"]!).send(new GetObjectCommand({ Bucket: "site-a-disk", Key: "sec/out_1.dat" }));
    expect(got.$metadata.httpStatusCode).toBe(200);
    expect(await s3Error(s3(cluster.s3["site-a"]!, { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }).send(new ListObjectsV2Command({ Bucket: "site-a-disk" })))).toEqual({ name: "InvalidAccessKeyId", status: 403 });
    useClusterSecrets(cluster);
  }, 120_000);
});
