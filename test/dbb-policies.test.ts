// Site replication policies against real servers: subscriptions give the
// site's new files their rules (by request and through JetStream), leave
// other files alone, cover existing files when retroactive, and still act
// when the dbb died between a registration and its rules. Most files here
// are registered without bytes (their transfers fail; rules and locks are
// what is checked); one test ingests real files and waits for the copies.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { create } from "@bufbuild/protobuf";
import { ReplicaRegistrationSchema, type Rule } from "../src/gen/orrery/v1/dbb_pb.js";
import { entriesFromFiles, ingest, parsePolicyJson, runDbb, type PolicyInput, type RunningDbb } from "../src/dbb/index.js";
import { Catalog, connectRedis } from "../src/dbb/catalog/catalog.js";
import { PolicyStore } from "../src/dbb/policies/policy-store.js";
import { DbbClient, publishReplicaRegistration, type ReplicaRegistrationInit } from "../src/common/dbb-client.js";
import { checksumBytes } from "../src/common/checksum.js";
import { s3ClientFor } from "../src/common/s3.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { startTestServers, type TestServers } from "./harness.js";
import { orrery, orreryJson } from "./cli-runner.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";

interface FileSpec {
  scope: string;
  name?: string;
  datasetType: string;
  rse?: string;
  metadata?: Record<string, unknown>;
}

describe("site replication policies", () => {
  let servers: TestServers;
  let dbb: RunningDbb;
  let nc: NatsConnection;
  let client: DbbClient;

  beforeAll(async () => {
    servers = await startTestServers("policies", ["pa-disk", "pa-tape", "pb-disk"]);
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
    nc = await connectNats(servers.nats.url, "policies-test");
    client = new DbbClient(nc);
    await client.rseAdd({ name: "pa-disk", site: "site-a", endpoint: servers.s3.endpoint, bucket: "pa-disk", tier: StorageTier.DISK });
    await client.rseAdd({ name: "pa-tape", site: "site-a", endpoint: servers.s3.endpoint, bucket: "pa-tape", tier: StorageTier.CUSTODIAL });
    await client.rseAdd({ name: "pb-disk", site: "site-b", endpoint: servers.s3.endpoint, bucket: "pb-disk", tier: StorageTier.DISK });
  });

  afterAll(async () => {
    await nc?.close();
    await dbb?.close();
    await servers?.stop();
  });

  const tag = () => randomBytes(3).toString("hex");

  function registration(f: FileSpec, i: number): { did: string; reg: ReplicaRegistrationInit } {
    const sum = checksumBytes(randomBytes(32));
    const name = f.name ?? `${f.datasetType}/${tag()}-${i}.fits`;
    return {
      did: `${f.scope}:${name}`,
      reg: {
        file: { scope: f.scope, name, datasetType: f.datasetType, dataId: JSON.stringify({ i }), metadata: JSON.stringify(f.metadata ?? {}), bytes: BigInt(sum.bytes), adler32: sum.adler32, md5: sum.md5 },
        rse: f.rse ?? "pa-disk",
      },
    };
  }

  /** Registers files through the request/reply API (what ingest does); returns their DIDs. */
  async function register(files: FileSpec[]): Promise<string[]> {
    const regs = files.map(registration);
    for (let i = 0; i < regs.length; i += 500) await client.register(regs.slice(i, i + 500).map((r) => r.reg));
    return regs.map((r) => r.did);
  }

  async function rulesOf(did: string) {
    return (await client.ruleList(did)).map((r) => ({ expression: r.rseExpression, subscription: r.subscription, grouping: r.grouping, locks: Number(r.locksOk + r.locksReplicating + r.locksStuck) }));
  }

  async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (done(v) || Date.now() > end) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const setPolicy = (p: PolicyInput) => client.policySet(JSON.stringify(p));

  it("gives newly registered matching files their rules and leaves the others alone", async () => {
    const scope = `hsc-${tag()}`;
    const before = await register([{ scope, datasetType: "raw" }]);
    await setPolicy({
      site: "site-a",
      subscriptions: [
        { name: "raw-to-tape", match: { scope, datasetType: ["raw", "bias"] }, rules: [{ rseExpression: "tier=custodial" }] },
        { name: "science-to-b", match: { scope, datasetType: ["raw"], metadata: { kind: "science" } }, rules: [{ rseExpression: "site=site-b", lifetime: "30d" }] },
      ],
    });
    const [raw, bias, science, calexp, otherScope, otherSite] = await register([
      { scope, datasetType: "raw" },
      { scope, datasetType: "bias" },
      { scope, datasetType: "raw", metadata: { kind: "science", night: 20260301 } },
      { scope, datasetType: "calexp" },
      { scope: `${scope}-x`, datasetType: "raw" },
      { scope, datasetType: "raw", rse: "pb-disk" },
    ]);
    // The register answer comes after the rules are made.
    const tape = { expression: "tier=custodial", subscription: "site-a/raw-to-tape", grouping: "NONE", locks: 1 };
    expect(await rulesOf(raw!)).toEqual([tape]);
    expect(await rulesOf(bias!)).toEqual([tape]);
    const both = await rulesOf(science!);
    expect(both.sort((a, b) => a.expression.localeCompare(b.expression))).toEqual([{ expression: "site=site-b", subscription: "site-a/science-to-b", grouping: "NONE", locks: 1 }, tape]);
    expect((await client.ruleList(science!)).find((r) => r.subscription === "site-a/science-to-b")?.expiresAt).not.toBe("");
    for (const did of [calexp!, otherScope!, otherSite!, before[0]!]) expect(await rulesOf(did), did).toEqual([]);
    const replicas = await client.replicas(raw!);
    expect(replicas.map((r) => `${r.rse}:${r.state}`).sort()).toEqual(["pa-disk:AVAILABLE", "pa-tape:COPYING"]);

    // The same registration again (a re-delivery) makes nothing new.
    const again = registration({ scope, datasetType: "raw" }, 0);
    await client.register([again.reg]);
    await client.register([again.reg, { ...again.reg, rse: "pa-tape" }]);
    expect(await rulesOf(again.did)).toEqual([tape]);
  });

  it("replicates newly ingested matching files, bytes verified, and leaves other files where they are", async () => {
    const scope = `real-${tag()}`;
    await setPolicy({ site: "site-a", subscriptions: [{ name: "raw-to-b", match: { scope, datasetType: ["raw"] }, rules: [{ rseExpression: "pb-disk" }] }] });
    const dir = join(servers.dir, `ingest-${scope}`);
    mkdirSync(dir);
    const write = (name: string) => {
      writeFileSync(join(dir, name), randomBytes(20_000));
      return join(dir, name);
    };
    const raws = [write("r0.fits"), write("r1.fits")];
    const bias = write("b0.fits");
    await ingest({ client, rse: "pa-disk", entries: await entriesFromFiles({ files: raws, scope, datasetType: "raw", dataId: { night: 1 } }) });
    await ingest({ client, rse: "pa-disk", entries: await entriesFromFiles({ files: [bias], scope, datasetType: "bias", dataId: { night: 1 } }) });
    for (const name of ["r0.fits", "r1.fits"]) {
      const at = await eventually(
        () => client.replicas(`${scope}:${name}`),
        (rs) => rs.some((r) => r.rse === "pb-disk" && r.state === "AVAILABLE"),
        30_000,
      );
      const copy = at.find((r) => r.rse === "pb-disk")!;
      const got = await s3ClientFor(servers.s3.endpoint).send(new GetObjectCommand({ Bucket: "pb-disk", Key: copy.path }));
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(readFileSync(join(dir, name)))).toBe(true);
    }
    expect((await client.replicas(`${scope}:b0.fits`)).map((r) => r.rse)).toEqual(["pa-disk"]);
  });

  it("acts on registrations that come through JetStream, many at once", async () => {
    const scope = `js-${tag()}`;
    await setPolicy({ site: "site-a", subscriptions: [{ name: "to-b", match: { scope, datasetType: ["calexp"] }, rules: [{ rseExpression: "pb-disk" }, { rseExpression: "site=site-a", copies: 2 }] }] });
    const js = jetstream(nc);
    const regs = Array.from({ length: 200 }, (_, i) => registration({ scope, datasetType: i % 4 === 0 ? "raw" : "calexp" }, i));
    await Promise.all(regs.map((r) => publishReplicaRegistration(js, r.reg)));
    const calexps = regs.filter((_, i) => i % 4 !== 0).map((r) => r.did);
    // The consumer acknowledges first and makes the rules after: wait until every lock is written.
    const complete = (rules: Rule[]) => rules.filter((r) => r.subscription === "site-a/to-b" && Number(r.locksOk + r.locksReplicating) === r.copies).length;
    await eventually(() => client.ruleList(), (rules) => complete(rules) >= calexps.length * 2);
    for (const did of calexps) expect((await rulesOf(did)).map((r) => `${r.expression}:${r.locks}`).sort(), did).toEqual(["pb-disk:1", "site=site-a:2"]);
    expect(await rulesOf(regs[0]!.did)).toEqual([]);
  });

  it("makes the rules of thousands of files in batches", async () => {
    const scope = `bulk-${tag()}`;
    await setPolicy({ site: "site-a", subscriptions: [{ name: "bulk", match: { scope, datasetType: ["raw"] }, rules: [{ rseExpression: "pa-tape" }] }] });
    const dids = await register(Array.from({ length: 2000 }, () => ({ scope, datasetType: "raw" })));
    const rules = await client.ruleList();
    const covered = new Set(rules.filter((r) => r.subscription === "site-a/bulk").map((r) => r.did));
    expect(dids.filter((d) => !covered.has(d))).toEqual([]);
    expect(covered.size).toBe(2000);
  });

  it("a retroactive subscription covers the site's existing files", async () => {
    const scope = `old-${tag()}`;
    const existing = await register(Array.from({ length: 30 }, () => ({ scope, datasetType: "raw" })));
    const [elsewhere] = await register([{ scope, datasetType: "raw", rse: "pb-disk" }]);
    const policy = { site: "site-a", subscriptions: [{ name: "old-raw", match: { scope, datasetType: ["raw"] }, rules: [{ rseExpression: "tier=custodial" }], retroactive: true }] };
    const first = await setPolicy(policy);
    expect(first).toMatchObject({ retroactiveFiles: 30, retroactiveRules: 30 });
    for (const did of existing) expect(await rulesOf(did)).toEqual([{ expression: "tier=custodial", subscription: "site-a/old-raw", grouping: "NONE", locks: 1 }]);
    expect(await rulesOf(elsewhere!)).toEqual([]);
    // Set again unchanged: the files were covered when it was set; nothing is walked again.
    expect(await setPolicy(policy)).toMatchObject({ retroactiveFiles: 0, retroactiveRules: 0 });
    // A changed subscription is walked again; the rules that exist are skipped, not made twice.
    const changed = { ...policy, subscriptions: [{ ...policy.subscriptions[0]!, match: { scope, datasetType: ["raw", "bias"] } }] };
    expect(await setPolicy(changed)).toMatchObject({ retroactiveFiles: 30, retroactiveRules: 0 });
    expect((await client.ruleList(existing[0]!)).length).toBe(1);
  });

  it("rules still come when the dbb died between storing a registration or a policy and making the rules", async () => {
    const scope = `crash-${tag()}`;
    const old = await register(Array.from({ length: 4 }, () => ({ scope, datasetType: "bias" })));
    await dbb.close();
    // Stored as by a dbb that died right after each write: the policy (with a retroactive
    // subscription whose walk never ran), then new files whose subscriptions never ran.
    const redis = await connectRedis(servers.redis.url, "policies-test");
    const catalog = await Catalog.open(servers.redis.url);
    const regs = Array.from({ length: 5 }, (_, i) => registration({ scope, datasetType: "raw" }, i));
    try {
      const policy = parsePolicyJson(
        JSON.stringify({
          site: "site-a",
          subscriptions: [
            { name: "after-crash", match: { scope, datasetType: ["raw"] }, rules: [{ rseExpression: "pa-tape" }] },
            { name: "old-bias", match: { scope, datasetType: ["bias"] }, rules: [{ rseExpression: "tier=custodial" }], retroactive: true },
          ],
        }),
      );
      await new PolicyStore(redis).set(policy);
      const result = await catalog.register(regs.map((r) => create(ReplicaRegistrationSchema, r.reg)));
      expect(result.created.map((c) => c.did).sort()).toEqual(regs.map((r) => r.did).sort());
    } finally {
      await Promise.all([catalog.close(), redis.quit()]);
    }
    dbb = await runDbb({ natsUrl: servers.nats.url, redisUrl: servers.redis.url });
    for (const r of regs) {
      const rules = await eventually(() => rulesOf(r.did), (v) => v.length > 0 && v.every((rule) => rule.locks > 0));
      expect(rules).toEqual([{ expression: "pa-tape", subscription: "site-a/after-crash", grouping: "NONE", locks: 1 }]);
    }
    for (const did of old) {
      const rules = await eventually(() => rulesOf(did), (v) => v.length > 0 && v.every((rule) => rule.locks > 0));
      expect(rules).toEqual([{ expression: "tier=custodial", subscription: "site-a/old-bias", grouping: "NONE", locks: 1 }]);
    }
  });

  describe("orrery dbb policy", () => {
    const cli = (args: string[]) => orrery(["dbb", "--nats", servers.nats.url, "policy", ...args]);

    it("refuses a bad file with exit 2, every problem as FILE:LINE", async () => {
      const file = join(servers.dir, "bad-policy.yaml");
      writeFileSync(file, ["site: site-a", "subscriptions:", "  - name: a", "    match: {scope: hsc, datasetType: raw}", "    rules: [{rseExpression: 'tier=(disk'}]", "  - name: a", "    match: {scope: hsc, datasetType: [raw]}", "    rules: [{rseExpression: '*', lifetime: soon}]", ""].join("\n"));
      const r = await cli(["set", "site-a", file]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain("policy refused, 4 problems:");
      expect(r.stderr).toContain(`${file}:4: subscriptions.0.match.datasetType: must be a list, not the string \"raw\"`);
      expect(r.stderr).toMatch(new RegExp(`${file}:5: subscriptions\\.0\\.rules\\.0\\.rseExpression: rse expression "tier=\\(disk": column 6`));
      expect(r.stderr).toContain(`${file}:6: subscriptions.1.name: "a" is also the name of subscriptions.0`);
      expect(r.stderr).toContain(`${file}:8: subscriptions.1.rules.0.lifetime: "soon" is not a positive duration`);
    });

    it("refuses a file of another site, and an expression that selects too few RSEs, naming the line", async () => {
      const file = join(servers.dir, "site-b.yaml");
      writeFileSync(file, "site: site-b\nsubscriptions:\n  - name: x\n    match: {scope: hsc, datasetType: [raw]}\n    rules: [{rseExpression: 'site=site-b', copies: 2}]\n");
      const other = await cli(["set", "site-a", file]);
      expect(other.code).toBe(2);
      expect(other.stderr).toContain(`${file} is the policy of site "site-b", not of site "site-a"`);
      const few = await cli(["set", "site-b", file]);
      expect(few.code).toBe(2);
      expect(few.stderr).toContain(`${file}:5: subscriptions.0.rules.0.rseExpression: "site=site-b" selects 1 RSE(s) (pb-disk), fewer than the 2 copies asked for`);
    });

    it("sets a policy and shows it back, as YAML and as JSON", async () => {
      const file = join(servers.dir, "site-b-ok.yaml");
      const text = "site: site-b\nsubscriptions:\n  - name: outputs-to-a\n    match: {scope: hsc-drp, datasetType: [calexp, deepCoadd], metadata: {visit: 903334}}\n    rules: [{rseExpression: 'site=site-a&tier=disk', copies: 1, lifetime: 30d}]\n";
      writeFileSync(file, text);
      const set = await cli(["set", "site-b", file]);
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toBe("policy of site site-b set: 1 subscription (outputs-to-a)\n");
      const expected = {
        site: "site-b",
        subscriptions: [{ name: "outputs-to-a", match: { scope: "hsc-drp", datasetType: ["calexp", "deepCoadd"], metadata: { visit: 903334 } }, rules: [{ rseExpression: "site=site-a&tier=disk", copies: 1, lifetime: "30d", grouping: "NONE", locked: false }], retroactive: false }],
      };
      expect(await orreryJson(["dbb", "--nats", servers.nats.url, "policy", "show", "site-b"])).toEqual(expected);
      const shown = await cli(["show", "site-b"]);
      expect(shown.code, shown.stderr).toBe(0);
      // The YAML shown is a policy file that sets the same policy again.
      writeFileSync(file, shown.stdout);
      expect(shown.stdout).toContain("lifetime: 30d");
      expect(await orreryJson(["dbb", "--nats", servers.nats.url, "policy", "set", "site-b", file])).toEqual(expected);
      const none = await cli(["show", "site-z"]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('site "site-z" has no replication policy');
    });
  });
});
