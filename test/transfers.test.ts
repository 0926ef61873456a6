import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { ensureTransferConsumer } from "../src/dbb/transfers/index.js";
import { TransferPublisher, copyVerified, runDbb, startTransferWorkers, type TransferTask, type TransferWorkerOptions, type TransferWorkers } from "../src/dbb/index.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { Streams, Subjects } from "../src/common/subjects.js";
import { checksumBytes } from "../src/common/checksum.js";
import { isOrreryError } from "../src/common/errors.js";
import { MapTransferLedger } from "./fixtures/map-transfer-ledger.js";
import { getObject, headObject, putObject, startTwoSites, type TwoSites } from "./fixtures/two-sites.js";

interface Rse {
  name: string;
  attributes: Record<string, string>;
}

describe("transfer workers", () => {
  let sites: TwoSites;
  let nc: NatsConnection;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    sites = await startTwoSites("xfer");
    nc = await connectNats(sites.servers.nats.url, "transfers-test");
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await nc?.close();
    await sites?.stop();
  });

  async function workers(ledger: MapTransferLedger, rses: Rse[], opts: TransferWorkerOptions = {}): Promise<TransferWorkers> {
    const w = await startTransferWorkers(nc, ledger, () => Promise.resolve(rses), { rsePollMs: 200, backoffMs: 50, ...opts });
    cleanups.push(() => w.stop());
    return w;
  }

  /** A file at site A (bytes in S3) and its transfer task to `rse` at site B. */
  async function fileTask(rse: string, name: string, size: number): Promise<Omit<TransferTask, "tries">> {
    const sums = await putObject(sites.a, `src/${name}`, randomBytes(size));
    return {
      did: `hsc:${name}`, rse, gen: 1, bytes: BigInt(sums.bytes), adler32: sums.adler32, md5: sums.md5,
      destination: { ...sites.b, path: `${rse}/hsc/${name}` },
      sources: [{ rse: "site-a-disk", ...sites.a, path: `src/${name}` }],
    };
  }

  async function consumerInfo(rse: string) {
    return (await jetstreamManager(nc)).consumers.info(Streams.transfers.name, `transfers-${rse}`);
  }

  async function eventually<T>(read: () => T | Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`condition not met in ${ms} ms; last value ${JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? Number(x) : x))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("copies queued requests, verifies them, reports to the ledger, publishes events and drains the queue", async () => {
    const rse = "xfer-b-disk";
    const ledger = new MapTransferLedger();
    const tasks = await Promise.all([fileTask(rse, "f0.fits", 1000), fileTask(rse, "f1.fits", 300_000), fileTask(rse, "f2.fits", 9 * 1024 * 1024)]);
    const requests = tasks.map((t) => ledger.add(t));
    const events: unknown[] = [];
    const sub = nc.subscribe(Subjects.replicaEvents, { callback: (_e, m) => void events.push(m.json()) });
    cleanups.push(() => sub.unsubscribe());

    await workers(ledger, [{ name: rse, attributes: {} }]);
    const queue = new TransferPublisher(nc);
    await queue.enqueue(requests);
    await queue.enqueue(requests); // again: duplicates by message id, stored once

    await eventually(() => ledger.completions.length, (n) => n === 3);
    for (const t of tasks) {
      expect(checksumBytes(await getObject(sites.b, t.destination.path))).toEqual({ bytes: Number(t.bytes), adler32: t.adler32, md5: t.md5 });
    }
    await eventually(() => events.length, (n) => n === 3);
    expect(events).toEqual(expect.arrayContaining(tasks.map((t) => ({ did: t.did, rse, state: "AVAILABLE" }))));
    const info = await eventually(() => consumerInfo(rse), (i) => i.num_pending === 0 && i.num_ack_pending === 0);
    expect(info.config.max_ack_pending).toBe(4);
    // Each request claimed once: the second enqueue stored nothing.
    expect(ledger.claims.map((c) => c.result)).toEqual(["task", "task", "task"]);
    expect(ledger.failures).toEqual([]);
  });

  it("enqueues many requests through a bounded window, each stored once however often it is enqueued", async () => {
    const rse = "xfer-queued";
    const requests = Array.from({ length: 5000 }, (_, i) => ({ rse, did: `hsc:many/f_${i}.fits`, gen: 1 }));
    const queue = new TransferPublisher(nc, { window: 64 });
    await queue.enqueue(requests);
    await queue.enqueue(requests.slice(0, 2500));
    await queue.enqueue([{ rse, did: "hsc:many/f_0.fits", gen: 2 }]); // a new generation is a new request
    await ensureTransferConsumer(await jetstreamManager(nc), rse, 4);
    expect((await consumerInfo(rse)).num_pending).toBe(5001);

    const refused = await queue.enqueue([{ rse: "Not An RSE", did: "hsc:x", gen: 1 }]).catch((e: unknown) => e);
    expect(isOrreryError(refused, "INVALID_ARGUMENT")).toBe(true);
  });

  it("declares a damaged source BAD and copies from the next source", async () => {
    const rse = "xfer-bad-src";
    const ledger = new MapTransferLedger();
    const task = await fileTask(rse, "damaged.fits", 50_000);
    // The first source holds other bytes of the same size.
    await putObject(sites.b, "tape/damaged.fits", randomBytes(50_000));
    task.sources.unshift({ rse: "site-b-tape", ...sites.b, path: "tape/damaged.fits" });
    const req = ledger.add(task);
    const events: { rse: string; state: string }[] = [];
    await workers(ledger, [{ name: rse, attributes: {} }], { onEvents: (e) => events.push(...e) });
    await new TransferPublisher(nc).enqueue([req]);

    await eventually(() => ledger.completions.length, (n) => n === 1);
    expect(ledger.bad).toEqual([{ did: task.did, rse: "site-b-tape", reason: expect.stringContaining("do not match the catalog") as string }]);
    expect(events.map((e) => [e.rse, e.state])).toEqual([["site-b-tape", "BAD"], [rse, "AVAILABLE"]]);
    expect(checksumBytes(await getObject(sites.b, task.destination.path)).md5).toBe(task.md5);
  });

  it("retries a failing copy with backoff and gives up after maxTries (final failure, message terminated)", async () => {
    const rse = "xfer-missing";
    const ledger = new MapTransferLedger();
    const task = await fileTask(rse, "gone.fits", 100);
    task.sources[0]!.path = "src/not-there.fits";
    const req = ledger.add(task);
    await workers(ledger, [{ name: rse, attributes: {} }], { maxTries: 3 });
    await new TransferPublisher(nc).enqueue([req]);

    await eventually(() => ledger.failures.length, (n) => n === 3);
    expect(ledger.failures.map((f) => f.final)).toEqual([false, false, true]);
    expect(ledger.failures[0]!.reason).toContain("from site-a-disk: cannot read the source");
    expect(ledger.has(req)).toBe(false);
    const info = await eventually(() => consumerInfo(rse), (i) => i.num_pending === 0 && i.num_ack_pending === 0);
    expect(info.delivered.consumer_seq).toBe(3);
    expect(await headObject(sites.b, task.destination.path)).toBeUndefined();
  });

  it("terminates messages that are not transfer requests without asking the ledger", async () => {
    const rse = "xfer-junk";
    const ledger = new MapTransferLedger();
    await workers(ledger, [{ name: rse, attributes: {} }]);
    const js = jetstream(nc);
    await js.publish(Subjects.transfer(rse), "not json");
    await js.publish(Subjects.transfer(rse), JSON.stringify({ rse: "elsewhere", did: "hsc:x", gen: 1 }));
    await js.publish(Subjects.transfer(rse), JSON.stringify({ rse, did: "no-scope", gen: -1 }));
    const info = await eventually(() => consumerInfo(rse), (i) => i.delivered.consumer_seq === 3 && i.num_pending === 0 && i.num_ack_pending === 0);
    expect(info.num_redelivered).toBe(0);
    expect(ledger.claims).toEqual([]);
  });

  it("never runs more copies to an RSE than its transfer_limit, across worker processes, and follows a changed limit", async () => {
    const rse = "xfer-throttled";
    const ledger = new MapTransferLedger();
    const rses: Rse[] = [{ name: rse, attributes: { transfer_limit: "1" } }];
    // A slower copy makes overlaps likely if the limit were not enforced.
    const slowCopy: typeof copyVerified = async (...args) => {
      await new Promise((r) => setTimeout(r, 150));
      return copyVerified(...args);
    };
    const w1 = await workers(ledger, rses, { workerId: "w1", concurrency: 4, copy: slowCopy });
    await workers(ledger, rses, { workerId: "w2", concurrency: 4, copy: slowCopy });
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => fileTask(rse, `t${i}.fits`, 20_000)));
    await new TransferPublisher(nc).enqueue(first.map((t) => ledger.add(t)));
    await eventually(() => ledger.completions.length, (n) => n === 6);
    expect(ledger.maxActive.get(rse)).toBe(1);
    expect((await consumerInfo(rse)).config.max_ack_pending).toBe(1);

    rses[0]!.attributes["transfer_limit"] = "3";
    await w1.refresh();
    expect((await consumerInfo(rse)).config.max_ack_pending).toBe(3);
    ledger.maxActive.delete(rse);
    const second = await Promise.all(Array.from({ length: 9 }, (_, i) => fileTask(rse, `u${i}.fits`, 20_000)));
    await new TransferPublisher(nc).enqueue(second.map((t) => ledger.add(t)));
    await eventually(() => ledger.completions.length, (n) => n === 15);
    expect(ledger.maxActive.get(rse)).toBeGreaterThan(1);
    expect(ledger.maxActive.get(rse)).toBeLessThanOrEqual(3);
  });

  it("runs in a transfers-only dbb process, for the catalog's rules and RSEs, within their transfer_limit", async () => {
    const api = await runDbb({ natsUrl: sites.servers.nats.url, redisUrl: sites.servers.redis.url, transferWorkers: 0 });
    cleanups.push(() => api.close());
    const client = new DbbClient(nc);
    const rse = "xfer-only-disk";
    await client.rseAdd({ name: "xfer-only-src", site: "site-a", endpoint: sites.a.endpoint, bucket: sites.a.bucket });
    await client.rseAdd({ name: rse, site: "site-b", endpoint: sites.b.endpoint, bucket: sites.b.bucket, attributes: { transfer_limit: "2" } });
    const regs = [];
    for (let i = 0; i < 4; i++) {
      const sums = await putObject(sites.a, `only/only_${i}.fits`, randomBytes(2000));
      regs.push({ file: { scope: "xo", name: `only_${i}.fits`, datasetType: "raw", bytes: BigInt(sums.bytes), adler32: sums.adler32, md5: sums.md5 }, rse: "xfer-only-src", path: `only/only_${i}.fits`, collection: "xo:only" });
    }
    await client.register(regs);
    const only = await runDbb({ natsUrl: sites.servers.nats.url, redisUrl: sites.servers.redis.url, transfersOnly: true, transferWorkers: 3 });
    cleanups.push(() => only.close());
    const rule = await client.ruleAdd({ did: "xo:only", rseExpression: rse });
    expect(rule.locksReplicating).toBe(4n);
    await eventually(() => client.ruleShow(rule.id), (r) => r.state === "OK");
    expect((await consumerInfo(rse)).config.max_ack_pending).toBe(2);
    for (const r of (await client.replicas("xo:only")).filter((r) => r.rse === rse)) {
      expect(r.state).toBe("AVAILABLE");
      expect(checksumBytes(await getObject(sites.b, r.path)).md5).toBe(r.md5);
    }
  });

  it("stop() waits for a copy in flight to finish and be acked", async () => {
    const rse = "xfer-draining";
    const ledger = new MapTransferLedger();
    const req = ledger.add(await fileTask(rse, "short.fits", 1000));
    const slowCopy: typeof copyVerified = async (...args) => {
      await new Promise((r) => setTimeout(r, 500));
      return copyVerified(...args);
    };
    const w = await workers(ledger, [{ name: rse, attributes: {} }], { copy: slowCopy });
    await new TransferPublisher(nc).enqueue([req]);
    await eventually(() => w.running()[rse] ?? 0, (n) => n === 1);
    await w.stop();
    expect(ledger.completions.map((c) => c.req)).toEqual([req]);
    await eventually(() => consumerInfo(rse), (i) => i.num_ack_pending === 0 && i.num_pending === 0);
  });

  it("stop() aborts a copy still running after the grace time and hands its request back to other workers", async () => {
    const rse = "xfer-stopping";
    const ledger = new MapTransferLedger();
    const task = await fileTask(rse, "long.fits", 1000);
    const req = ledger.add(task);
    // A copy that only ends when aborted.
    const stuckCopy: typeof copyVerified = (_s, _d, _e, opts) =>
      new Promise((_resolve, reject) => opts?.signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
    const w = await workers(ledger, [{ name: rse, attributes: {} }], { copy: stuckCopy, stopGraceMs: 200 });
    await new TransferPublisher(nc).enqueue([req]);
    await eventually(() => w.running()[rse] ?? 0, (n) => n === 1);
    await w.stop();
    expect(ledger.failures).toEqual([{ req, worker: expect.any(String) as string, reason: "the transfer worker stopped", final: false }]);
    expect(ledger.has(req)).toBe(true);

    // Another worker takes the request at once (no ack_wait to sit out) and copies it.
    const t0 = Date.now();
    await workers(ledger, [{ name: rse, attributes: {} }], { workerId: "after" });
    await eventually(() => ledger.completions, (c) => c.length === 1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(ledger.completions[0]!.worker).toBe("after");
    expect(checksumBytes(await getObject(sites.b, task.destination.path)).md5).toBe(task.md5);
    await eventually(() => consumerInfo(rse), (i) => i.num_ack_pending === 0 && i.num_pending === 0);
  });
});
