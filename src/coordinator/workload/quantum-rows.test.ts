import { describe, expect, it } from "vitest";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { progressToStore, setFirstStates } from "./initial-progress.js";
import type { QuantumProgress } from "./model.js";
import { QuantumRows, type RowBatch } from "./quantum-rows.js";

const MEMORY: Record<string, number> = { isr: 256, calibrate: 512 };
const memoryOf = (task: string) => MEMORY[task] ?? 1024;

/**
 * A batch of rows numbered from `first`: `tasks` in row order with their
 * counts, `upstream[i]` the rows new row i reads from, identity bytes of row
 * r all equal to r + 1.
 */
function batch(first: number, tasks: [string, number][], upstream: number[][] = []): RowBatch {
  const count = tasks.reduce((n, [, k]) => n + k, 0);
  let at = first;
  const ranges = tasks.map(([task, k]) => {
    const r = { task, start: at, count: k };
    at += k;
    return r;
  });
  const start = new Int32Array(count + 1);
  const links: number[] = [];
  for (let i = 0; i < count; i++) {
    links.push(...(upstream[i] ?? []));
    start[i + 1] = links.length;
  }
  const identities = new Uint8Array(count * IDENTITY_BYTES);
  for (let i = 0; i < count; i++) identities.fill(first + i + 1, i * IDENTITY_BYTES, (i + 1) * IDENTITY_BYTES);
  return { ranges, count, upstream: { start, rows: Int32Array.from(links) }, identities };
}

const hexOf = (byte: number) => byte.toString(16).padStart(2, "0").repeat(IDENTITY_BYTES);

function twoTasks(): QuantumRows {
  const rows = new QuantumRows("c", memoryOf);
  // isr.1..3 (rows 0-2), calibrate.n (rows 3-4) reads isr.n
  rows.append(batch(0, [["isr", 3], ["calibrate", 2]], [[], [], [], [0], [1]]));
  return rows;
}

describe("QuantumRows ids", () => {
  it("turns a row into its id and the id back into the row", () => {
    const rows = twoTasks();
    expect(Array.from({ length: rows.length }, (_, r) => rows.id(r))).toEqual(["c.isr.1", "c.isr.2", "c.isr.3", "c.calibrate.1", "c.calibrate.2"]);
    for (let r = 0; r < rows.length; r++) expect(rows.rowOf(rows.id(r))).toBe(r);
    expect(rows.task(2)).toBe("isr");
    expect(rows.task(3)).toBe("calibrate");
    expect([...rows.rowsOf("calibrate")]).toEqual([3, 4]);
  });

  it("has no row for another campaign's id, an unknown task, or a number out of the task's range", () => {
    const rows = twoTasks();
    for (const id of ["other.isr.1", "cc.isr.1", "c.coadd.1", "c.isr.0", "c.isr.4", "c.calibrate.3", "c.isr.-1", "c.isr.1.5", "c.isr.x", "c.isr.", "c.isr", "c", ""]) {
      expect(rows.rowOf(id), id).toBeUndefined();
    }
    expect(() => rows.id(rows.length)).toThrow(RangeError);
  });
});

describe("QuantumRows.append", () => {
  it("starts new rows PENDING with their task's memory, their identities and links", () => {
    const rows = twoTasks();
    expect(rows.length).toBe(5);
    for (let r = 0; r < rows.length; r++) {
      expect(rows.state(r)).toBe("PENDING");
      expect(rows.memoryMB(r)).toBe(memoryOf(rows.task(r)));
      expect(rows.identity(r)).toBe(hexOf(r + 1));
    }
    expect([...rows.upstream(3)]).toEqual([0]);
    expect([...rows.downstream(0)]).toEqual([3]);
    expect([...rows.downstream(2)]).toEqual([]);
  });

  it("appends a second batch reading from the first: numbered on, old rows' downstream updated, old rows kept as they were", () => {
    const rows = twoTasks();
    rows.restore(0, { ...rows.progress(0), state: "SUCCEEDED" });
    rows.setRetry(1, "failures", 700, 42);
    // coadd.1 (row 5) reads calibrate.1, calibrate.2 and isr.3
    const first = rows.append(batch(5, [["coadd", 1]], [[3, 4, 2]]));
    expect(first).toBe(5);
    expect(rows.length).toBe(6);
    expect(rows.ranges).toEqual([
      { task: "isr", start: 0, count: 3 },
      { task: "calibrate", start: 3, count: 2 },
      { task: "coadd", start: 5, count: 1 },
    ]);
    expect(rows.id(5)).toBe("c.coadd.1");
    expect(rows.rowOf("c.coadd.1")).toBe(5);
    expect([...rows.upstream(5)].map((r) => rows.id(r))).toEqual(["c.calibrate.1", "c.calibrate.2", "c.isr.3"]);
    expect([...rows.downstream(3)].map((r) => rows.id(r))).toEqual(["c.coadd.1"]);
    expect([...rows.downstream(4)].map((r) => rows.id(r))).toEqual(["c.coadd.1"]);
    expect([...rows.downstream(2)].map((r) => rows.id(r))).toEqual(["c.coadd.1"]);
    expect([...rows.downstream(5)]).toEqual([]);
    // links among the old rows unchanged
    expect([...rows.upstream(3)]).toEqual([0]);
    expect([...rows.downstream(0)]).toEqual([3]);
    // old rows' columns and identities survive the growth; the new row starts afresh
    expect(rows.state(0)).toBe("SUCCEEDED");
    expect([rows.failures(1), rows.memoryMB(1), rows.readyAtMs(1)]).toEqual([1, 700, 42]);
    for (let r = 0; r < rows.length; r++) expect(rows.identity(r)).toBe(hexOf(r + 1));
    expect([rows.state(5), rows.memoryMB(5), rows.failures(5)]).toEqual(["PENDING", 1024, 0]);

    // a third batch: a row's downstream lists every reader, ascending, whichever batch it came in
    rows.append(batch(6, [["extra", 2]], [[0], [5, 0]]));
    expect([...rows.downstream(0)]).toEqual([3, 6, 7]);
    expect([...rows.downstream(5)]).toEqual([7]);
    expect([...rows.upstream(7)]).toEqual([5, 0]);
  });
});

describe("QuantumRows progress", () => {
  const lease = { id: "lease-1", agent: "agent-a", deadlineMs: 9_000 };
  const progress: QuantumProgress = {
    state: "RUNNING",
    attempts: [
      { number: 1, agent: "agent-a", site: "site-a", leaseId: "lease-0", outcome: "out_of_memory", exitCode: 137, message: "oom", startMs: 1, endMs: 2 },
      { number: 2, agent: "agent-a", site: "site-a", leaseId: "lease-1", outcome: "", exitCode: 0, message: "", startMs: 3, endMs: 0 },
    ],
    failures: 1,
    kills: 2,
    infraErrors: 3,
    memoryMB: 2048,
    readyAtMs: 1234,
    lease,
    produced: [{ role: "o", did: "out:x.fits", rse: "site-a-disk", bytes: 5, adler32: "a", md5: "m" }],
  };

  it("gives an untouched row's record: its state, no attempts, its task's memory, no lease", () => {
    const rows = twoTasks();
    setFirstStates(rows, 0);
    expect(rows.progress(0)).toEqual({ state: "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [] });
    expect(rows.progress(4)).toEqual({ state: "PENDING", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 512, readyAtMs: 0, produced: [] });
    expect("lease" in rows.progress(0)).toBe(false);
  });

  it("restores a stored record so progress() gives it back, in the same or a freshly loaded index", () => {
    const rows = twoTasks();
    setFirstStates(rows, 0);
    rows.restore(3, progress);
    expect(rows.progress(3)).toEqual(progress);
    expect(rows.state(3)).toBe("RUNNING");
    expect([rows.failures(3), rows.kills(3), rows.memoryMB(3), rows.readyAtMs(3)]).toEqual([1, 2, 2048, 1234]);
    expect(rows.leased.has(3)).toBe(true);
    // neighbours untouched
    expect(rows.progress(4)).toEqual({ state: "PENDING", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 512, readyAtMs: 0, produced: [] });

    // as a restart loads it: every row's stored record, read back, is what was stored
    const stored = progressToStore(rows, 0);
    expect([...stored.keys()]).toEqual(["c.calibrate.1"]);
    const loaded = twoTasks();
    setFirstStates(loaded, 0);
    for (const [id, p] of stored) loaded.restore(loaded.rowOf(id)!, p);
    for (let r = 0; r < rows.length; r++) expect(loaded.progress(r)).toEqual(rows.progress(r));
    expect([...loaded.leased]).toEqual([3]);
  });

  it("counts a retry: one more on its counter, the next attempt's memory and earliest start", () => {
    const rows = twoTasks();
    rows.setRetry(0, "failures", 512, 10);
    rows.setRetry(0, "kills", 1024, 20);
    rows.setRetry(0, "infraErrors", 1024, 30);
    rows.setRetry(0, "kills", 1024, 40);
    expect(rows.progress(0)).toMatchObject({ failures: 1, kills: 2, infraErrors: 1, memoryMB: 1024, readyAtMs: 40 });
  });
});

describe("QuantumRows.isInitial", () => {
  it("is true only for a row still in its first state (READY without makers, else PENDING) with nothing attempted", () => {
    const rows = twoTasks();
    setFirstStates(rows, 0);
    for (let r = 0; r < rows.length; r++) expect(rows.isInitial(r)).toBe(true);
    expect([0, 1, 2, 3, 4].map((r) => rows.state(r))).toEqual(["READY", "READY", "READY", "PENDING", "PENDING"]);

    rows.restore(0, { ...rows.progress(0), state: "PENDING" }); // no makers: its first state is READY
    rows.restore(3, { ...rows.progress(3), state: "READY" }); // has a maker: its first state is PENDING
    expect([rows.isInitial(0), rows.isInitial(3)]).toEqual([false, false]);

    rows.setRetry(1, "kills", 256, 0); // counter only
    expect(rows.isInitial(1)).toBe(false);

    rows.runOf(2).produced = [{ role: "o", did: "out:y", rse: "r", bytes: 1, adler32: "a", md5: "m" }];
    expect(rows.isInitial(2)).toBe(false);

    rows.restore(4, { state: "PENDING", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 900, readyAtMs: 0, produced: [] });
    expect(rows.isInitial(4)).toBe(false);

    expect([...progressToStore(rows, 0).keys()]).toEqual(["c.isr.1", "c.isr.2", "c.isr.3", "c.calibrate.1", "c.calibrate.2"]);
  });

  it("a READY row with no makers whose back-off was set is not initial", () => {
    const rows = twoTasks();
    setFirstStates(rows, 0);
    rows.restore(0, { state: "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 5, produced: [] });
    expect(rows.isInitial(0)).toBe(false);
    rows.restore(0, { state: "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [] });
    expect(rows.isInitial(0)).toBe(true);
  });
});

describe("QuantumRows leases", () => {
  it("tracks leased rows and shows the lease in the progress record until it is cleared", () => {
    const rows = twoTasks();
    setFirstStates(rows, 0);
    expect(rows.leased.size).toBe(0);
    const a = { id: "lease-a", agent: "agent-1", deadlineMs: 100 };
    const b = { id: "lease-b", agent: "agent-2", deadlineMs: 200 };
    rows.setLease(0, a);
    rows.setLease(2, b);
    expect([...rows.leased].sort()).toEqual([0, 2]);
    expect(rows.run(0)?.lease).toEqual(a);
    expect(rows.progress(2).lease).toEqual(b);
    expect(rows.isInitial(0)).toBe(false);

    rows.runOf(0).attempts.push({ number: 1, agent: "agent-1", site: "s", leaseId: "lease-a", outcome: "", exitCode: 0, message: "", startMs: 1, endMs: 0 });
    rows.setLease(0, undefined);
    expect([...rows.leased]).toEqual([2]);
    expect("lease" in rows.progress(0)).toBe(false);
    expect(rows.run(0)?.lease).toBeUndefined();
    // the run record (its attempts) stays
    expect(rows.progress(0).attempts).toHaveLength(1);

    // a new lease replaces the old one
    rows.setLease(2, a);
    expect([...rows.leased]).toEqual([2]);
    expect(rows.progress(2).lease).toEqual(a);
  });
});

describe("QuantumRows run records", () => {
  const attempt = { number: 1, agent: "agent-1", site: "s", leaseId: "c.isr.1#1", outcome: "succeeded", exitCode: 0, message: "", startMs: 1, endMs: 2 };
  const replica = { role: "o", did: "out:x", rse: "site-a-disk", bytes: 1, adler32: "a", md5: "m" };

  it("drops the run of a row that SUCCEEDED or was SKIPPED once stored, and keeps those that may run again", () => {
    const rows = twoTasks();
    setFirstStates(rows, 0);
    for (const row of [0, 1, 2]) rows.runOf(row).attempts.push({ ...attempt, leaseId: `${rows.id(row)}#1` });
    rows.restore(0, { ...rows.progress(0), state: "SUCCEEDED" });
    rows.runOf(0).produced = [replica];
    rows.restore(1, { ...rows.progress(1), state: "SKIPPED" });
    rows.restore(2, { ...rows.progress(2), state: "FAILED" });
    for (const row of [0, 1, 2]) rows.dropFinishedRun(row);
    expect([...rows.runs.keys()]).toEqual([2]);
    expect(rows.progress(2).attempts).toHaveLength(1);
  });

  it("keeps no run for a finished row it restores (its record stays in Redis), and keeps one for a failed row", () => {
    const rows = twoTasks();
    setFirstStates(rows, 0);
    const done: QuantumProgress = { state: "SUCCEEDED", attempts: [attempt], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [replica] };
    rows.restore(0, done);
    rows.restore(1, { ...done, state: "FAILED", failures: 3, produced: [] });
    expect(rows.state(0)).toBe("SUCCEEDED");
    expect(rows.run(0)).toBeUndefined();
    expect(rows.run(1)?.attempts).toEqual([attempt]);
    expect(rows.failures(1)).toBe(3);
  });
});

describe("QuantumRows states", () => {
  it("change only through the transition table: SKIPPED too, and an illegal event throws", () => {
    const rows = twoTasks();
    expect(rows.apply(0, "skip")).toBe("SKIPPED");
    expect(rows.state(0)).toBe("SKIPPED");
    expect(() => rows.apply(0, "leased")).toThrow(/c\.isr\.1: leased is not allowed in state SKIPPED/);
    expect(rows.state(0)).toBe("SKIPPED");
    expect(rows.apply(3, "inputs_ready")).toBe("READY");
    expect(() => rows.apply(4, "succeeded")).toThrow(expect.objectContaining({ code: "ILLEGAL_TRANSITION" }));
  });
});
