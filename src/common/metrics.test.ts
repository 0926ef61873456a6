import { describe, expect, it } from "vitest";
import { createMetricsRegistry, enumLabel, LabelBudget, labelValue, MAX_LABEL_LENGTH, OTHER } from "./metrics.js";
import { stageInBytes } from "./provenance-figures.js";

describe("label bounding", () => {
  it("keeps names, cuts long values and replaces characters outside names and addresses", () => {
    expect(labelValue("site-a")).toBe("site-a");
    expect(labelValue("127.0.0.1:4222")).toBe("127.0.0.1:4222");
    expect(labelValue('a"b\nc{d}')).toBe("a_b_c_d_");
    expect(labelValue("x".repeat(1000))).toHaveLength(MAX_LABEL_LENGTH);
    expect(labelValue("")).toBe("none");
    expect(labelValue(undefined)).toBe("none");
    expect(labelValue(42)).toBe("none");
  });

  it("lets only the allowed values of an enumerated label through", () => {
    const allowed = new Set(["succeeded", "lost"]);
    expect(enumLabel("lost", allowed)).toBe("lost");
    expect(enumLabel("hacked", allowed)).toBe(OTHER);
    expect(enumLabel(undefined, allowed)).toBe(OTHER);
  });

  it("names at most `max` distinct values; later new ones are other, known ones stay", () => {
    const budget = new LabelBudget(3);
    expect(["a", "b", "c", "d", "a", "e"].map((v) => budget.label(v))).toEqual(["a", "b", "c", OTHER, "a", OTHER]);
    expect(budget.size).toBe(3);
    // Values that differ only past the cut are one value.
    const long = new LabelBudget(1);
    expect(long.label("y".repeat(100) + "1")).toBe(long.label("y".repeat(100) + "2"));
  });

  it("makes a registry of its own, with the default metrics under orrery_", async () => {
    const registry = createMetricsRegistry();
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(5);
    expect(names.filter((n) => !n.startsWith("orrery_"))).toEqual([]);
    expect(names).toContain("orrery_process_cpu_user_seconds_total");
    expect(await createMetricsRegistry(false).getMetricsAsJSON()).toEqual([]);
  });
});

describe("stage-in bytes by source", () => {
  const sites = new Map([
    ["a-disk", "site-a"],
    ["b-disk", "site-b"],
  ]);
  const record = (inputs: unknown) => JSON.stringify({ inputs });

  it("splits an attempt's inputs into cache, own site and other sites", () => {
    const json = record([
      { source: "cache", bytes: 10 },
      { source: "a-disk", bytes: 100 },
      { source: "b-disk", bytes: 1000 },
      { source: "unknown-rse", bytes: 5 },
    ]);
    expect(stageInBytes(json, "site-a", (r) => sites.get(r))).toEqual({ cache: 10, own_site: 100, other_site: 1005 });
    expect(stageInBytes(json, "site-b", (r) => sites.get(r))).toEqual({ cache: 10, own_site: 1000, other_site: 105 });
  });

  it("gives nothing for records that are not JSON or have no usable inputs, and skips forged figures", () => {
    const none = { cache: 0, own_site: 0, other_site: 0 };
    expect(stageInBytes("", "site-a", () => undefined)).toEqual(none);
    expect(stageInBytes("{not json", "site-a", () => undefined)).toEqual(none);
    expect(stageInBytes("null", "site-a", () => undefined)).toEqual(none);
    expect(stageInBytes(record("many"), "site-a", () => undefined)).toEqual(none);
    expect(stageInBytes(record([null, 3, { source: 1, bytes: 1 }, { source: "cache", bytes: -5 }, { source: "cache", bytes: "9" }, { source: "cache", bytes: Infinity }]), "site-a", () => undefined)).toEqual(none);
    // A figure past belief (over 2^50 bytes) counts as nothing, as in `report`.
    expect(stageInBytes(record([{ source: "cache", bytes: 1e300 }, { source: "cache", bytes: 2 ** 50 }]), "site-a", () => undefined).cache).toBe(2 ** 50);
  });
});
