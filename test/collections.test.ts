// Collections against real servers: Rucio's rules for attach, detach and
// close, contents in pages, replicas of a container, and the registrar's
// dataset-in-container outputs; the rule engine's hook sees every change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDbb, type RunningDbb } from "../src/dbb/index.js";
import { Catalog } from "../src/dbb/catalog/catalog.js";
import { DbbClient, type ReplicaRegistrationInit } from "../src/common/dbb-client.js";
import { connectNats, dbbRequest, type NatsConnection } from "../src/common/nats.js";
import { ContentsRequestSchema, ContentsResponseSchema, ReplicaListRequestSchema, ReplicaListResponseSchema } from "../src/gen/orrery/v1/dbb_pb.js";
import { isOrreryError } from "../src/common/errors.js";
import { startTestServers, type TestServers } from "./harness.js";
import { StorageTier } from "../src/gen/orrery/v1/common_pb.js";

type Change = [string, string[]];

describe("collections", () => {
  let servers: TestServers;
  let dbb: RunningDbb | undefined;
  let nc: NatsConnection | undefined;
  let client: DbbClient;
  const attached: Change[] = [];
  const detached: Change[] = [];
  let seq = 0;

  beforeAll(async () => {
    servers = await startTestServers("collections", ["coll-disk"]);
    dbb = await runDbb({
      natsUrl: servers.nats.url,
      redisUrl: servers.redis.url,
      collectionHooks: { onAttached: (p, c) => void attached.push([p, [...c].sort()]), onDetached: (p, c) => void detached.push([p, [...c].sort()]) },
    });
    nc = await connectNats(servers.nats.url, "collections-test");
    client = new DbbClient(nc);
    await client.rseAdd({ name: "coll-disk", site: "site-c", endpoint: servers.s3.endpoint, bucket: "coll-disk", output: true });
    await client.rseAdd({ name: "coll-tape", site: "site-c", endpoint: servers.s3.endpoint, bucket: "coll-disk", tier: StorageTier.CUSTODIAL, prefix: "tape" });
  });

  afterAll(async () => {
    await nc?.close();
    await dbb?.close();
    await servers?.stop();
  });

  /** A scope of its own for each test. */
  const newScope = () => `coll${++seq}`;

  function file(scope: string, name: string, over: { rse?: string; collection?: string; container?: string; producedBy?: string } = {}): ReplicaRegistrationInit {
    return { file: { scope, name, datasetType: "calexp", dataId: JSON.stringify({ n: name }), bytes: 10n, adler32: "0000000a", md5: "0".repeat(32) }, rse: "coll-disk", ...over };
  }

  async function refused(p: Promise<unknown>, code: "INVALID_ARGUMENT" | "NOT_FOUND", text: string): Promise<void> {
    const err = await p.then(
      () => new Error("was not refused"),
      (e: unknown) => e,
    );
    expect((err as Error).message).toContain(text);
    expect(isOrreryError(err, code), `${(err as Error).message}`).toBe(true);
  }

  it("attaches files to a dataset and datasets to a container, both made if absent; a repeat is a no-op", async () => {
    const s = newScope();
    await client.register(["a.fits", "b.fits"].map((n) => file(s, n)));
    expect(await client.attach(`${s}:ds`, [`${s}:a.fits`, `${s}:b.fits`])).toEqual([`${s}:a.fits`, `${s}:b.fits`]);
    expect(await client.attach(`${s}:run`, [`${s}:ds`])).toEqual([`${s}:ds`]);
    expect(await client.attach(`${s}:ds`, [`${s}:b.fits`, `${s}:a.fits`])).toEqual([]);

    expect(await client.contents(`${s}:ds`)).toEqual({
      did: `${s}:ds`,
      type: "DATASET",
      open: true,
      contents: [
        { did: `${s}:a.fits`, type: "FILE" },
        { did: `${s}:b.fits`, type: "FILE" },
      ],
    });
    expect(await client.contents(`${s}:run`)).toMatchObject({ type: "CONTAINER", contents: [{ did: `${s}:ds`, type: "DATASET" }] });
    expect(await client.contents(`${s}:a.fits`)).toMatchObject({ type: "FILE", open: false, contents: [] });
    // The hook hears of new children only.
    expect(attached.filter(([p]) => p.startsWith(`${s}:`))).toEqual([
      [`${s}:ds`, [`${s}:a.fits`, `${s}:b.fits`]],
      [`${s}:run`, [`${s}:ds`]],
    ]);
  });

  it("refuses a file into a container and a collection into a dataset, naming the rule", async () => {
    const s = newScope();
    await client.register([file(s, "raw"), file(s, "other")]);
    await client.attach(`${s}:ds`, [`${s}:raw`]);
    await client.attach(`${s}:c`, [`${s}:ds`]);
    await refused(client.attach(`${s}:c`, [`${s}:other`]), "INVALID_ARGUMENT", `${s}:other is a FILE: files cannot be attached to a CONTAINER (${s}:c); attach files to a DATASET`);
    await refused(client.attach(`${s}:ds`, [`${s}:c`]), "INVALID_ARGUMENT", `${s}:c is a CONTAINER: only files can be attached to a DATASET`);
    await refused(client.attach(`${s}:raw`, [`${s}:other`]), "INVALID_ARGUMENT", `${s}:raw is a FILE: nothing can be attached to a file`);
    await refused(client.attach(`${s}:new`, [`${s}:other`, `${s}:ds`]), "INVALID_ARGUMENT", "would hold files and collections");
    await refused(client.attach(`${s}:ds`, [`${s}:nope`]), "NOT_FOUND", `${s}:nope is not in the catalog`);
    await refused(client.attach(`${s}:ds`, ["no-colon"]), "INVALID_ARGUMENT", '"no-colon" is not a DID');
    // Nothing of a refused request was stored.
    expect((await client.contents(`${s}:c`)).contents.map((c) => c.did)).toEqual([`${s}:ds`]);
    expect(await client.describe(`${s}:new`)).toBeUndefined();
  });

  it("refuses cycles: a container in itself, directly or through any path", async () => {
    const s = newScope();
    await client.register([file(s, "f")]);
    await client.attach(`${s}:ds`, [`${s}:f`]);
    await client.attach(`${s}:c3`, [`${s}:ds`]);
    await client.attach(`${s}:c2`, [`${s}:c3`]);
    await client.attach(`${s}:c1`, [`${s}:c2`]);
    await refused(client.attach(`${s}:c1`, [`${s}:c1`]), "INVALID_ARGUMENT", `${s}:c1 cannot be attached to itself`);
    await refused(client.attach(`${s}:c2`, [`${s}:c1`]), "INVALID_ARGUMENT", `attaching ${s}:c1 to ${s}:c2 would make a cycle: ${s}:c1 already contains ${s}:c2`);
    await refused(client.attach(`${s}:c3`, [`${s}:c1`]), "INVALID_ARGUMENT", "would make a cycle");
    // A DAG is fine: c3 may sit in c1 directly as well as through c2.
    expect(await client.attach(`${s}:c1`, [`${s}:c3`])).toEqual([`${s}:c3`]);
  });

  it("refuses a cycle made by two dbb processes at once: exactly one of the crossing attaches wins", async () => {
    const s = newScope();
    const [one, two] = await Promise.all([Catalog.open(servers.redis.url), Catalog.open(servers.redis.url)]);
    try {
      await client.register([file(s, "f")]);
      await client.attach(`${s}:ds`, [`${s}:f`]);
      for (let i = 0; i < 10; i++) {
        const [a, b] = [`${s}:a${i}`, `${s}:b${i}`];
        await client.attach(a, [`${s}:ds`]);
        await client.attach(b, [`${s}:ds`]);
        const outcomes = await Promise.allSettled([one.attach(a, [b]), two.attach(b, [a])]);
        expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
        const lost = outcomes.find((o) => o.status === "rejected");
        expect(String((lost as PromiseRejectedResult).reason)).toContain("would make a cycle");
      }
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it("detaches, refusing what is not attached; the hook hears of it", async () => {
    const s = newScope();
    await client.register(["x", "y"].map((n) => file(s, n)));
    await client.attach(`${s}:ds`, [`${s}:x`, `${s}:y`]);
    expect(await client.detach(`${s}:ds`, [`${s}:x`])).toEqual([`${s}:x`]);
    expect((await client.contents(`${s}:ds`)).contents.map((c) => c.did)).toEqual([`${s}:y`]);
    await refused(client.detach(`${s}:ds`, [`${s}:x`]), "NOT_FOUND", `${s}:x is not attached to ${s}:ds`);
    await refused(client.detach(`${s}:none`, [`${s}:x`]), "NOT_FOUND", `${s}:none is not in the catalog`);
    expect(detached).toContainEqual([`${s}:ds`, [`${s}:x`]]);
    // Detached, x may go back in.
    expect(await client.attach(`${s}:ds`, [`${s}:x`])).toEqual([`${s}:x`]);
  });

  it("closes a collection: nothing attached to or detached from it afterwards, and files stay unclosable", async () => {
    const s = newScope();
    await client.register(["p", "q"].map((n) => file(s, n)));
    await client.attach(`${s}:ds`, [`${s}:p`]);
    expect(await client.close(`${s}:ds`)).toEqual({ did: `${s}:ds`, type: "DATASET" });
    expect(await client.describe(`${s}:ds`)).toEqual({ type: "DATASET", open: false });
    await refused(client.attach(`${s}:ds`, [`${s}:q`]), "INVALID_ARGUMENT", `${s}:ds is a closed DATASET: nothing can be attached to or detached from a closed collection`);
    await refused(client.detach(`${s}:ds`, [`${s}:p`]), "INVALID_ARGUMENT", "closed DATASET");
    await refused(client.close(`${s}:p`), "INVALID_ARGUMENT", `${s}:p is a FILE: only a DATASET or CONTAINER is closed`);
    await refused(client.close(`${s}:gone`), "NOT_FOUND", "is not in the catalog");
    // A closed dataset still goes into an open container (Rucio closes content, not membership).
    expect(await client.attach(`${s}:c`, [`${s}:ds`])).toEqual([`${s}:ds`]);
  });

  it("lists large contents in pages", async () => {
    const s = newScope();
    const names = Array.from({ length: 300 }, (_, i) => `f${String(i).padStart(3, "0")}`);
    await client.register(names.map((n) => file(s, n)));
    await client.attach(`${s}:big`, names.map((n) => `${s}:${n}`));
    const first = await dbbRequest(nc!, "contents", ContentsRequestSchema, { did: `${s}:big`, pageSize: 50 }, ContentsResponseSchema);
    expect(first.contents.length).toBeLessThan(300);
    expect(first.nextPageToken).not.toBe("");
    const all = await client.contents(`${s}:big`, 50);
    expect(all.contents.map((c) => c.did)).toEqual(names.map((n) => `${s}:${n}`));
    const bad = await dbbRequest(nc!, "contents", ContentsRequestSchema, { did: `${s}:big`, pageToken: "x" }, ContentsResponseSchema).catch((e: unknown) => e);
    expect(isOrreryError(bad, "INVALID_ARGUMENT")).toBe(true);
  });

  it("lists the replicas of every file below a container, once each, with the quantum that produced it, page by page", async () => {
    const s = newScope();
    const regs = ["f1", "f2", "f3", "f4", "f5"].map((n, i) => file(s, n, { producedBy: `q-${i + 1}` }));
    await client.register([...regs, { ...file(s, "f3"), rse: "coll-tape" }]);
    await client.attach(`${s}:ds1`, [`${s}:f1`, `${s}:f2`, `${s}:f3`]);
    await client.attach(`${s}:ds2`, [`${s}:f3`, `${s}:f4`, `${s}:f5`]);
    await client.attach(`${s}:inner`, [`${s}:ds2`]);
    await client.attach(`${s}:outer`, [`${s}:ds1`, `${s}:inner`]);
    await client.attach(`${s}:empty`, [`${s}:ds1`]);
    await client.detach(`${s}:empty`, [`${s}:ds1`]);

    const rows = (await client.replicas(`${s}:outer`, 2)).map((r) => [r.did, r.rse, r.producedBy]);
    expect(rows).toEqual([
      [`${s}:f1`, "coll-disk", "q-1"],
      [`${s}:f2`, "coll-disk", "q-2"],
      [`${s}:f3`, "coll-disk", "q-3"],
      [`${s}:f3`, "coll-tape", "q-3"],
      [`${s}:f4`, "coll-disk", "q-4"],
      [`${s}:f5`, "coll-disk", "q-5"],
    ]);
    const page = await dbbRequest(nc!, "replicas", ReplicaListRequestSchema, { did: `${s}:outer`, pageSize: 2 }, ReplicaListResponseSchema);
    expect(page.nextPageToken).not.toBe("");
    expect(new Set(page.replicas.map((r) => r.did)).size).toBeLessThanOrEqual(3);
    expect((await client.replicas(`${s}:inner`)).map((r) => r.did)).toEqual([`${s}:f3`, `${s}:f3`, `${s}:f4`, `${s}:f5`]);
    expect(await client.replicas(`${s}:empty`)).toEqual([]);
  });

  it("registers outputs into a dataset made inside a container made, atomically, and tells the hook", async () => {
    const s = newScope();
    const out = (n: string) => file(s, `run1/calexp/${n}`, { collection: `${s}:run1/calexp-task`, container: `${s}:run1`, producedBy: `q-${n}` });
    expect(await client.register([out("c1"), out("c2")])).toBe(2);
    expect(await client.contents(`${s}:run1`)).toMatchObject({ type: "CONTAINER", open: true, contents: [{ did: `${s}:run1/calexp-task`, type: "DATASET" }] });
    expect((await client.contents(`${s}:run1/calexp-task`)).contents.map((c) => c.did)).toEqual([`${s}:run1/calexp/c1`, `${s}:run1/calexp/c2`]);
    expect(attached.filter(([p]) => p.startsWith(`${s}:`))).toEqual([
      [`${s}:run1/calexp-task`, [`${s}:run1/calexp/c1`, `${s}:run1/calexp/c2`]],
      [`${s}:run1`, [`${s}:run1/calexp-task`]],
    ]);
    expect((await client.replicas(`${s}:run1`)).map((r) => r.producedBy)).toEqual(["q-c1", "q-c2"]);

    // Closed, the dataset takes no new file, but a file already in it may get another replica.
    await client.close(`${s}:run1/calexp-task`);
    await refused(client.register([out("c3")]), "INVALID_ARGUMENT", "closed DATASET");
    expect(await client.describe(`${s}:run1/calexp/c3`)).toBeUndefined();
    expect(await client.register([{ ...out("c1"), rse: "coll-tape" }])).toBe(1);
    // The registrar keeps the same rules as attach.
    await refused(client.register([file(s, "x", { collection: `${s}:run1` })]), "INVALID_ARGUMENT", "files cannot be attached to a CONTAINER");
    await refused(client.register([file(s, "y", { container: `${s}:run1` })]), "INVALID_ARGUMENT", "without a collection");
  });

  it("keeps every scope that has a DID", async () => {
    const s = newScope();
    await client.register([file(s, "only")]);
    const catalog = await Catalog.open(servers.redis.url);
    try {
      expect(await catalog.scopes()).toContain(s);
      expect(await catalog.scopes()).not.toContain(`${s}-none`);
    } finally {
      await catalog.close();
    }
  });
});
