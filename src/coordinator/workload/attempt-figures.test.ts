import { describe, expect, it } from "vitest";
import { countAttempt, cpuSecondsOf, type AttemptFigures } from "./attempt-figures.js";

describe("attempt figures", () => {
  it("counts attempts by node kind, with the CPU and wall time of those preempted or lost", () => {
    const f: AttemptFigures = {};
    countAttempt(f, { kind: "spot", startMs: 1000, endMs: 4000 }, "succeeded", 2.5);
    countAttempt(f, { kind: "spot", startMs: 1000, endMs: 3000 }, "preempted", 1.25);
    countAttempt(f, { kind: "spot", startMs: 1000, endMs: 9000 }, "lost", 0);
    countAttempt(f, { kind: "hpc", startMs: 1000, endMs: 2000 }, "payload_error", 0.5);
    countAttempt(f, { startMs: 0, endMs: 2000 }, "succeeded", 0);
    expect(f["spot"]).toEqual({ attempts: 3, preempted: 1, lost: 1, cpuSeconds: 3.75, wallSeconds: 13, lostCpuSeconds: 1.25, lostWallSeconds: 10 });
    expect(f["hpc"]).toEqual({ attempts: 1, preempted: 0, lost: 0, cpuSeconds: 0.5, wallSeconds: 1, lostCpuSeconds: 0, lostWallSeconds: 0 });
    expect(f["unknown"]?.attempts).toBe(1);
    // A lost attempt whose late result came after all is taken back.
    countAttempt(f, { kind: "spot", startMs: 1000, endMs: 9000 }, "lost", 0, -1);
    expect(f["spot"]).toMatchObject({ attempts: 2, lost: 0, wallSeconds: 5, lostWallSeconds: 2 });
  });

  it("reads the payload's CPU seconds from a provenance record, 0 when it has none", () => {
    expect(cpuSecondsOf(JSON.stringify({ cpuSeconds: 1.5, outcome: "preempted" }))).toBe(1.5);
    expect(cpuSecondsOf("")).toBe(0);
    expect(cpuSecondsOf("not json")).toBe(0);
    expect(cpuSecondsOf(JSON.stringify({ cpuSeconds: "many" }))).toBe(0);
  });
});
