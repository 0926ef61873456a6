import { describe, expect, it } from "vitest";
import { decideRetry, INFRA_RETRIES } from "./retry-policy.js";
import type { QuantumProgress } from "./model.js";
import type { CampaignSpec } from "../campaign/spec.js";

const NOW = 1_750_000_000_000;
const RETRIES: CampaignSpec["retries"] = { failures: 2, kills: 3, unlessExit: [2], memoryMultiplier: 2, memoryMax: 1024 };

function progress(p: Partial<QuantumProgress> = {}): QuantumProgress {
  return { state: "RUNNING", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [], ...p };
}

/** Applies decisions the way the workload manager does, until one says FAILED; returns how many attempts ran. */
function attemptsUntilFailed(outcome: string, retries: CampaignSpec["retries"], exitCode = 1): { attempts: number; memory: number[] } {
  const p = progress();
  const memory = [p.memoryMB];
  for (let attempt = 1; attempt < 100; attempt++) {
    const d = decideRetry(outcome, exitCode, p, retries, NOW);
    p[d.counter] += 1;
    p.memoryMB = d.memoryMB;
    if (!d.retry) return { attempts: attempt, memory };
    memory.push(p.memoryMB);
  }
  throw new Error("never gave up");
}

describe("decideRetry: failures", () => {
  it("retries a payload error up to retries.failures times, then fails", () => {
    expect(attemptsUntilFailed("payload_error", RETRIES)).toEqual({ attempts: 3, memory: [256, 256, 256] });
    expect(attemptsUntilFailed("payload_error", { ...RETRIES, failures: 0 }).attempts).toBe(1);
  });

  it("counts the failure and retries after a backoff that grows", () => {
    const first = decideRetry("payload_error", 1, progress(), RETRIES, NOW);
    expect(first).toMatchObject({ retry: true, counter: "failures", memoryMB: 256 });
    const second = decideRetry("payload_error", 1, progress({ failures: 1 }), RETRIES, NOW);
    expect(second).toMatchObject({ retry: true, counter: "failures" });
    expect(first.readyAtMs).toBeGreaterThan(NOW);
    expect(second.readyAtMs).toBeGreaterThan(first.readyAtMs);
    // bounded: a quantum is never parked for long
    expect(decideRetry("payload_error", 1, progress({ failures: 50 }), { ...RETRIES, failures: 100 }, NOW).readyAtMs).toBeLessThanOrEqual(NOW + 60_000);
  });

  it("does not retry a payload error whose exit code is in retries.unlessExit", () => {
    const d = decideRetry("payload_error", 2, progress(), RETRIES, NOW);
    expect(d).toMatchObject({ retry: false, counter: "failures" });
    expect(d.reason).toContain("unlessExit");
    expect(decideRetry("payload_error", 3, progress(), RETRIES, NOW).retry).toBe(true);
  });

  it("retries a timeout as a failure, whatever its exit code", () => {
    expect(decideRetry("timeout", 2, progress(), RETRIES, NOW)).toMatchObject({ retry: true, counter: "failures" });
    expect(attemptsUntilFailed("timeout", RETRIES).attempts).toBe(3);
    // A payload over its disk is retried the same way, its memory unchanged.
    expect(decideRetry("out_of_disk", 137, progress({ memoryMB: 256 }), RETRIES, NOW)).toMatchObject({ retry: true, counter: "failures", memoryMB: 256 });
    expect(attemptsUntilFailed("out_of_disk", RETRIES).attempts).toBe(3);
  });

  it("never raises memory past the largest connected agent, and fails once there instead of waiting forever", () => {
    expect(decideRetry("out_of_memory", 137, progress({ memoryMB: 256 }), RETRIES, NOW, 400)).toMatchObject({ retry: true, memoryMB: 400 });
    const stuck = decideRetry("out_of_memory", 137, progress({ memoryMB: 400 }), RETRIES, NOW, 400);
    expect(stuck.retry).toBe(false);
    expect(stuck.reason).toContain("400 MB, the most any connected agent has");
    // With no agent connected, memoryMax alone bounds it.
    expect(decideRetry("out_of_memory", 137, progress({ memoryMB: 512 }), RETRIES, NOW).memoryMB).toBe(1024);
  });

  it("retries out-of-memory with memory × memoryMultiplier, up to memoryMax", () => {
    const d = decideRetry("out_of_memory", 137, progress({ memoryMB: 256 }), RETRIES, NOW);
    expect(d).toMatchObject({ retry: true, counter: "failures", memoryMB: 512 });
    expect(decideRetry("out_of_memory", 137, progress({ memoryMB: 600 }), RETRIES, NOW).memoryMB).toBe(1024);
    expect(decideRetry("out_of_memory", 137, progress({ memoryMB: 300 }), { ...RETRIES, memoryMultiplier: 1.5 }, NOW).memoryMB).toBe(450);
    // 256 → 512 → 1024, then out of memory at memoryMax: no point running again
    expect(attemptsUntilFailed("out_of_memory", { ...RETRIES, failures: 10 })).toEqual({ attempts: 3, memory: [256, 512, 1024] });
  });

  it("counts out-of-memory against the failure budget", () => {
    expect(decideRetry("out_of_memory", 137, progress({ memoryMB: 256, failures: 2 }), RETRIES, NOW).retry).toBe(false);
  });
});

describe("decideRetry: kills", () => {
  it("retries preempted and lost up to retries.kills, never counting a failure", () => {
    for (const outcome of ["preempted", "lost"]) {
      const d = decideRetry(outcome, -1, progress({ memoryMB: 256 }), { ...RETRIES, failures: 0 }, NOW);
      expect(d).toEqual(expect.objectContaining({ retry: true, counter: "kills", memoryMB: 256 }));
      // not the payload's fault: ready again at once
      expect(d.readyAtMs).toBe(NOW);
      expect(attemptsUntilFailed(outcome, RETRIES).attempts).toBe(4);
    }
    expect(decideRetry("preempted", -1, progress({ kills: 3 }), RETRIES, NOW).retry).toBe(false);
  });

  it("does not let exit codes in unlessExit stop a kill from being retried", () => {
    expect(decideRetry("preempted", 2, progress(), RETRIES, NOW).retry).toBe(true);
  });
});

describe("decideRetry: infrastructure errors", () => {
  it("retries stage-in and stage-out errors with backoff on their own budget", () => {
    for (const outcome of ["stage_in_error", "stage_out_error"]) {
      const d = decideRetry(outcome, 0, progress({ failures: 2, kills: 3 }), RETRIES, NOW);
      expect(d).toMatchObject({ retry: true, counter: "infraErrors", memoryMB: 256 });
      expect(d.readyAtMs).toBeGreaterThan(NOW);
      expect(attemptsUntilFailed(outcome, { ...RETRIES, failures: 0, kills: 0 }).attempts).toBe(INFRA_RETRIES + 1);
    }
  });
});
