import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../common/metrics.js";
import { DbbMetrics } from "./dbb-metrics.js";

async function values(m: DbbMetrics, name: string) {
  return ((await m.registry.getMetricsAsJSON()).find((x) => x.name === name)?.values ?? []).map((v) => ({ labels: v.labels, value: v.value }));
}

describe("dbb metrics", () => {
  it("names only the catalog's RSEs in transfer labels", async () => {
    const m = new DbbMetrics(undefined, () => Promise.resolve(["a-disk", "b-disk"]), createMetricsRegistry(false));
    await m.learnRses();
    m.copied("a-disk", "b-disk", 100);
    m.copied("forged-rse", "b-disk", 7);
    await new Promise((r) => setTimeout(r, 10)); // an unknown name reads the catalog again first
    expect(await values(m, "orrery_transfer_bytes_total")).toEqual([
      { labels: { source_rse: "a-disk", dest_rse: "b-disk" }, value: 100 },
      { labels: { source_rse: "other", dest_rse: "b-disk" }, value: 7 },
    ]);
  });

  it("counts rules by state from a bounded read, at most once per interval", async () => {
    let reads = 0;
    const rules = {
      count: () => Promise.resolve(50_000),
      states: (limit: number) => {
        reads++;
        expect(limit).toBeLessThanOrEqual(10_000);
        return Promise.resolve(["OK", "OK", "STUCK"] as const).then((s) => [...s]);
      },
    };
    const m = new DbbMetrics(rules, () => Promise.resolve([]), createMetricsRegistry(false));
    expect(Object.fromEntries((await values(m, "orrery_rules")).map((v) => [v.labels["state"], v.value]))).toEqual({ OK: 2, REPLICATING: 0, STUCK: 1, SUSPENDED: 0 });
    expect((await values(m, "orrery_rules_known"))[0]?.value).toBe(50_000);
    expect(reads).toBe(1);
    m.ended("done");
    m.ended("retry");
    m.replicasRegistered(3);
    expect(Object.fromEntries((await values(m, "orrery_transfers_total")).map((v) => [v.labels["state"], v.value]))).toEqual({ done: 1, retry: 1, failed: 0 });
    expect((await values(m, "orrery_replicas_registered_total"))[0]?.value).toBe(3);
  });
});
