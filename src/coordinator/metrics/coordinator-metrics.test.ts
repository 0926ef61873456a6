import { describe, expect, it } from "vitest";
import { createMetricsRegistry } from "../../common/metrics.js";
import { CampaignTable, type EndedAttempt } from "../workload/index.js";
import { CoordinatorMetrics } from "./coordinator-metrics.js";

async function values(m: CoordinatorMetrics, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (metric?.values ?? []).map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

function ended(over: Partial<EndedAttempt>): EndedAttempt {
  return { campaign: "c1", task: "t", site: "site-a", leaseId: "c1.t.1#1", outcome: "succeeded", provenanceJson: "", ...over };
}

describe("coordinator metrics", () => {
  const fresh = () => {
    const m = new CoordinatorMetrics(createMetricsRegistry(false));
    const table = new CampaignTable();
    table.replicas.setRseSite("a-disk", "site-a");
    table.replicas.setRseSite("b-disk", "site-b");
    m.attach(table);
    return m;
  };

  it("counts attempts by outcome; an outcome that is none of the known ones is other", async () => {
    const m = fresh();
    m.attemptEnded(ended({}));
    m.attemptEnded(ended({ leaseId: "c1.t.2#1", outcome: "payload_error" }));
    m.attemptEnded(ended({ leaseId: "c1.t.3#1", outcome: "cancelled" }));
    m.attemptEnded(ended({ leaseId: "c1.t.4#1", outcome: "rm -rf /" }));
    const counted = Object.fromEntries((await values(m, "orrery_attempts_total")).map((v) => [v.labels["outcome"], v.value]));
    expect(counted).toEqual({ succeeded: 1, payload_error: 1, cancelled: 1, other: 1 });
  });

  it("names at most 64 sites in labels, whatever agents call theirs", async () => {
    const m = fresh();
    for (let i = 0; i < 100; i++) m.attemptEnded(ended({ site: `site-${i}-${"x".repeat(200)}`, leaseId: `c1.t.${i}#1` }));
    const sites = new Set((await values(m, "orrery_attempts_total")).map((v) => String(v.labels["site"])));
    expect(sites.size).toBe(65);
    expect(sites.has("other")).toBe(true);
    expect(Math.max(...[...sites].map((s) => s.length))).toBeLessThanOrEqual(64);
  });

  it("counts a lost attempt whose late result came as reopened, so attempts stay countable", async () => {
    const m = fresh();
    m.attemptEnded(ended({ outcome: "lost" }));
    m.attemptEnded(ended({ outcome: "succeeded" }));
    m.attemptEnded(ended({ leaseId: "c1.t.1#2", outcome: "succeeded" }));
    expect((await values(m, "orrery_attempts_reopened_total")).map((v) => v.value)).toEqual([1]);
    const total = (await values(m, "orrery_attempts_total")).reduce((n, v) => n + v.value, 0);
    expect(total - 1).toBe(2);
  });

  it("counts stage-in bytes by source, an RSE's site from the campaign table's replica map", async () => {
    const m = fresh();
    const inputs = [
      { source: "cache", bytes: 1 },
      { source: "a-disk", bytes: 10 },
      { source: "b-disk", bytes: 100 },
    ];
    m.attemptEnded(ended({ provenanceJson: JSON.stringify({ inputs }) }));
    const bytes = Object.fromEntries((await values(m, "orrery_stage_in_bytes_total")).map((v) => [v.labels["source"], v.value]));
    expect(bytes).toEqual({ cache: 1, own_site: 10, other_site: 100 });
  });

  it("reads agents, queue depth and campaigns at scrape time", async () => {
    const m = fresh();
    m.watchAgents(() => [
      { site: "site-a", kind: "hpc" },
      { site: "site-a", kind: "hpc" },
      { site: "site-b", kind: "spot" },
    ]);
    expect((await values(m, "orrery_agents")).map((v) => [v.labels["site"], v.labels["kind"], v.value])).toEqual([
      ["site-a", "hpc", 2],
      ["site-b", "spot", 1],
    ]);
    expect((await values(m, "orrery_queue_depth")).map((v) => [v.labels["site"], v.value])).toEqual([
      ["site-a", 0],
      ["site-b", 0],
    ]);
    expect((await values(m, "orrery_campaigns")).every((v) => v.value === 0)).toBe(true);
    m.leased(0.02, 3);
    expect((await values(m, "orrery_lease_latency_seconds")).find((v) => v.labels["le"] === 0.025)?.value).toBe(3);
  });
});
