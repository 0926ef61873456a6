import { describe, expect, it } from "vitest";
import { accountAttempt, accountRunning, attemptsOf, emptyAccounting, readAccounting, rseSites, totalsOf, type SiteOf } from "./accounting.js";
import { ReplicaIndex } from "./replica-index.js";
import { provenanceFigures } from "../../common/provenance-figures.js";

const rses: Record<string, string> = { "A-DISK": "site-a", "B-DISK": "site-b" };
const siteOf: SiteOf = (rse, site) => (rses[rse] === site ? "own" : "other");

function provenance(cpuSeconds: unknown, peakRssBytes: unknown, inputs: { source: unknown; bytes: unknown }[]): string {
  return JSON.stringify({ cpuSeconds, peakRssBytes, inputs, outputs: [{ bytes: 999 }] });
}

describe("accounting", () => {
  it("counts ended attempts per task and site: quanta once per site, outcomes, times, peak, bytes in by source and out", () => {
    const acc = emptyAccounting();
    // q1: fails at site-a, then succeeds at site-b.
    accountAttempt(acc, { task: "isr", attempt: { site: "site-a", startMs: 1000, endMs: 3000 }, outcome: "payload_error", provenanceJson: provenance(1.5, 100, [{ source: "A-DISK", bytes: 10 }, { source: "B-DISK", bytes: 20 }]), outputs: [], earlier: [] }, siteOf);
    accountAttempt(
      acc,
      { task: "isr", attempt: { site: "site-b", startMs: 4000, endMs: 9000 }, outcome: "succeeded", provenanceJson: provenance(4, 300, [{ source: "cache", bytes: 7 }, { source: "B-DISK", bytes: 20 }]), outputs: [{ bytes: 50 }, { bytes: 5 }], earlier: [{ site: "site-a", outcome: "payload_error" }] },
      siteOf,
    );
    // q2: preempted at site-a, then succeeds at site-a: one quantum there.
    accountAttempt(acc, { task: "isr", attempt: { site: "site-a", startMs: 1000, endMs: 2000 }, outcome: "preempted", provenanceJson: provenance(0.25, 50, []), outputs: [], earlier: [] }, siteOf);
    accountAttempt(acc, { task: "isr", attempt: { site: "site-a", startMs: 2000, endMs: 2500 }, outcome: "succeeded", provenanceJson: provenance(0.5, 80, [{ source: "A-DISK", bytes: 3 }]), outputs: [{ bytes: 11 }], earlier: [{ site: "site-a", outcome: "preempted" }] }, siteOf);

    const a = acc.tasks["isr"]!["site-a"]!;
    const b = acc.tasks["isr"]!["site-b"]!;
    expect(a).toEqual({ quanta: 2, succeeded: 1, outcomes: { payload_error: 1, preempted: 1, succeeded: 1 }, cpuMs: 2250, wallMs: 3500, peakRssBytes: 100, cacheBytes: 0, ownSiteBytes: 13, otherSiteBytes: 20, outBytes: 11 });
    expect(b).toEqual({ quanta: 1, succeeded: 1, outcomes: { succeeded: 1 }, cpuMs: 4000, wallMs: 5000, peakRssBytes: 300, cacheBytes: 7, ownSiteBytes: 20, otherSiteBytes: 0, outBytes: 55 });
    expect(acc.quanta).toBe(2);

    const t = totalsOf(acc);
    expect(attemptsOf(t)).toBe(4);
    expect(t).toMatchObject({ quanta: 3, succeeded: 2, cpuMs: 6250, wallMs: 8500, peakRssBytes: 300, cacheBytes: 7, ownSiteBytes: 33, otherSiteBytes: 20, outBytes: 66 });
  });

  it("takes back a lost attempt whose late result came after all, then counts its result", () => {
    const acc = emptyAccounting();
    const attempt = { site: "site-a", startMs: 1000, endMs: 61_000 };
    accountAttempt(acc, { task: "isr", attempt, outcome: "lost", provenanceJson: "", outputs: [], earlier: [] }, siteOf);
    expect(acc.tasks["isr"]!["site-a"]).toMatchObject({ quanta: 1, outcomes: { lost: 1 }, wallMs: 60_000 });
    accountAttempt(acc, { task: "isr", attempt, outcome: "lost", provenanceJson: "", outputs: [], earlier: [] }, siteOf, -1);
    expect(acc.tasks["isr"]!["site-a"]).toMatchObject({ quanta: 0, outcomes: {}, wallMs: 0 });
    expect(acc.quanta).toBe(0);
    accountAttempt(acc, { task: "isr", attempt: { site: "site-a", startMs: 1000, endMs: 70_000 }, outcome: "succeeded", provenanceJson: provenance(30, 10, [{ source: "A-DISK", bytes: 4 }]), outputs: [{ bytes: 8 }], earlier: [] }, siteOf);
    expect(acc.tasks["isr"]!["site-a"]).toEqual({ quanta: 1, succeeded: 1, outcomes: { succeeded: 1 }, cpuMs: 30_000, wallMs: 69_000, peakRssBytes: 10, cacheBytes: 0, ownSiteBytes: 4, otherSiteBytes: 0, outBytes: 8 });
    expect(acc.quanta).toBe(1);
  });

  it("adds running attempts (a report's copy), counting their quantum at a site only once", () => {
    const acc = emptyAccounting();
    accountAttempt(acc, { task: "isr", attempt: { site: "site-a", startMs: 1, endMs: 2 }, outcome: "preempted", provenanceJson: "", outputs: [], earlier: [] }, siteOf);
    accountRunning(acc, "isr", [{ site: "site-a", outcome: "preempted" }, { site: "site-a", outcome: "" }]);
    accountRunning(acc, "isr", [{ site: "site-b", outcome: "" }]);
    accountRunning(acc, "isr", [{ site: "site-b", outcome: "succeeded" }]); // ended: not running
    expect(acc.tasks["isr"]!["site-a"]).toMatchObject({ quanta: 1, outcomes: { preempted: 1, running: 1 } });
    expect(acc.tasks["isr"]!["site-b"]).toMatchObject({ quanta: 1, outcomes: { running: 1 } });
    expect(acc.quanta).toBe(2);
    expect(attemptsOf(totalsOf(acc))).toBe(3);
  });

  it("believes no bad figure in a provenance record: wrong types, negatives, NaN, huge values count 0", () => {
    expect(provenanceFigures("")).toEqual({ cpuMs: 0, peakRssBytes: 0, inputs: [], outBytes: 0 });
    expect(provenanceFigures("not json")).toEqual({ cpuMs: 0, peakRssBytes: 0, inputs: [], outBytes: 0 });
    expect(provenanceFigures("[1,2]")).toEqual({ cpuMs: 0, peakRssBytes: 0, inputs: [], outBytes: 0 });
    const p = provenanceFigures(provenance("12", -5, [{ source: "cache", bytes: -1 }, { source: "A-DISK", bytes: 1e30 }, { source: 7, bytes: 5 }, { source: "B-DISK", bytes: "9" }, { source: "B-DISK", bytes: 2 }]));
    expect(p).toEqual({ cpuMs: 0, peakRssBytes: 0, inputs: [{ source: "cache", bytes: 0 }, { source: "A-DISK", bytes: 0 }, { source: "B-DISK", bytes: 0 }, { source: "B-DISK", bytes: 2 }], outBytes: 999 });
    expect(provenanceFigures(JSON.stringify({ cpuSeconds: 1e20, peakRssBytes: 2048, inputs: "many" }))).toEqual({ cpuMs: 0, peakRssBytes: 2048, inputs: [], outBytes: 0 });
    // An agent's start and end out of order: no wall time.
    const acc = emptyAccounting();
    accountAttempt(acc, { task: "t", attempt: { site: "s", startMs: 9000, endMs: 1000 }, outcome: "succeeded", provenanceJson: "", outputs: [{ bytes: -4 }], earlier: [] }, siteOf);
    expect(acc.tasks["t"]!["s"]).toMatchObject({ wallMs: 0, outBytes: 0 });
  });

  it("places an RSE at the attempt's own site through the DBB's RSE list; an RSE it does not know is another site's", () => {
    const replicas = new ReplicaIndex();
    replicas.setRseSite("A-DISK", "site-a");
    replicas.setRseSite("B-DISK", "site-b");
    const place = rseSites(replicas);
    expect(place("A-DISK", "site-a")).toBe("own");
    expect(place("B-DISK", "site-a")).toBe("other");
    expect(place("C-DISK", "site-c")).toBe("other");
  });

  it("reads stored figures back, and nothing from a record that does not read as figures", () => {
    const acc = emptyAccounting();
    accountAttempt(acc, { task: "isr", attempt: { site: "site-a", startMs: 1000, endMs: 2000 }, outcome: "succeeded", provenanceJson: provenance(1, 2, [{ source: "cache", bytes: 3 }]), outputs: [{ bytes: 4 }], earlier: [] }, siteOf);
    expect(readAccounting(JSON.stringify(acc))).toEqual(acc);
    expect(readAccounting(undefined)).toBeUndefined();
    expect(readAccounting("{")).toBeUndefined();
    expect(readAccounting(JSON.stringify({ tasks: { isr: { "site-a": { quanta: -1 } } }, quanta: 0 }))).toBeUndefined();
  });
});
