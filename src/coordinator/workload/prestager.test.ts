import { describe, expect, it } from "vitest";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { PrestageLedger } from "./prestage-ledger.js";
import type { PrestageOrder, PrestageSite, SiteCapacity } from "./prestage-plan.js";
import { DEFAULT_PRESTAGE, Prestager, type RuleSink } from "./prestager.js";
import { StorageTier } from "../../gen/orrery/v1/common_pb.js";

const RSES = [
  { name: "site-a-disk", site: "site-a", tier: StorageTier.DISK, output: true },
  { name: "site-a-tape", site: "site-a", tier: StorageTier.CUSTODIAL, output: false },
  { name: "site-b-tape", site: "site-b", tier: StorageTier.CUSTODIAL, output: false },
  { name: "site-b-scratch", site: "site-b", tier: StorageTier.DISK, output: false },
];

const capacity = (freeB: number): SiteCapacity[] => [
  { site: "site-a", agents: 1, cores: 2, freeCores: 0, maxCores: 2, maxMemoryMB: 1000, nonSpot: true },
  { site: "site-b", agents: 1, cores: 2, freeCores: freeB, maxCores: 2, maxMemoryMB: 1000, nonSpot: true },
];

function order(n: number): PrestageOrder {
  return { site: "site-b", siteNumber: 1, rse: "", files: Array.from({ length: n }, (_, i) => ({ file: i, did: `hsc:r${i}` })), quanta: [] };
}

/** A planner handing out `orders` once, with the RSE the pre-stager chose for their site; it keeps what it was given. */
function planner(orders: PrestageOrder[]) {
  const seen: { sites: readonly PrestageSite[]; ledger: PrestageLedger }[] = [];
  return {
    seen,
    prestage(sites: readonly PrestageSite[], ledger: PrestageLedger) {
      seen.push({ sites, ledger });
      const out = seen.length === 1 ? orders.map((o) => ({ ...o, rse: sites.find((s) => s.site === o.site)!.rse! })) : [];
      return Promise.resolve(out);
    },
  };
}

function logger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, obj, msg });
  return { lines, log: { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") } as unknown as Logger };
}

function sink(answer: (did: string) => Promise<unknown> = () => Promise.resolve({})): RuleSink & { rules: Parameters<RuleSink["ruleAdd"]>[0][]; lists: number; most: number } {
  let inFlight = 0;
  const s = {
    rules: [] as Parameters<RuleSink["ruleAdd"]>[0][],
    lists: 0,
    most: 0,
    async ruleAdd(rule: Parameters<RuleSink["ruleAdd"]>[0]) {
      s.rules.push(rule);
      s.most = Math.max(s.most, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 2));
        return await answer(rule.did);
      } finally {
        inFlight--;
      }
    },
    rseList() {
      s.lists++;
      return Promise.resolve(RSES);
    },
  };
  return s;
}

describe("the pre-stager", () => {
  it("asks one transient rule per file at the target's RSE (output RSE, else a disk one; never tape), a few at a time", async () => {
    const dbb = sink();
    const p = planner([order(20)]);
    const stager = new Prestager(p, () => capacity(2), dbb, logger().log, { ...DEFAULT_PRESTAGE, concurrency: 3, lifetimeMs: 7_200_000 });
    await stager.pass();
    expect(p.seen[0]!.sites.map((s) => [s.site, s.rse])).toEqual([["site-a", "site-a-disk"], ["site-b", "site-b-scratch"]]);
    expect(dbb.rules).toHaveLength(20);
    expect(dbb.rules[0]).toEqual({ did: "hsc:r0", rseExpression: "site-b-scratch", copies: 1, lifetime: "7200s", grouping: "NONE" });
    expect(dbb.most).toBe(3);
    expect(stager.counts).toMatchObject({ passes: 1, rules: 20, failures: 0 });
  });

  it("takes a rule the DBB has already as done; logs and counts other failures once per pass, marks them to ask again later, never throws", async () => {
    const down = new OrreryError(ErrorCode.UNAVAILABLE, "the data backbone did not answer dbb.rule.add");
    const dbb = sink((did) => (did === "hsc:r0" ? Promise.reject(new OrreryError(ErrorCode.ALREADY_EXISTS, "exists")) : did === "hsc:r1" ? Promise.resolve({}) : Promise.reject(down)));
    const p = planner([order(4)]);
    const { lines, log } = logger();
    const stager = new Prestager(p, () => capacity(2), dbb, log, { ...DEFAULT_PRESTAGE, retryMs: 60_000 });
    const before = Date.now();
    await expect(stager.pass()).resolves.toBeUndefined();
    expect(stager.counts).toMatchObject({ rules: 1, duplicates: 1, failures: 2 });
    const warns = lines.filter((l) => l.level === "warn");
    expect(warns).toHaveLength(1);
    expect(warns[0]!.obj).toMatchObject({ err: down, failed: 2, of: 4, site: "site-b" });
    const ledger = p.seen[0]!.ledger;
    // Failed files count as asked for until the retry time, then not.
    expect(ledger.requested(1, 2, before + 59_000)).toBe(true);
    expect(ledger.requested(1, 2, Date.now() + 60_001)).toBe(false);
  });

  it("plans nothing while no site has a free slot, and nothing while the DBB cannot list RSEs", async () => {
    const dbb = sink();
    const p = planner([order(1)]);
    await new Prestager(p, () => capacity(0), dbb, logger().log).pass();
    expect(dbb.lists + p.seen.length).toBe(0);
    const broken = { ...sink(), rseList: () => Promise.reject(new Error("no answer")) };
    const stager = new Prestager(p, () => capacity(2), broken, logger().log);
    await stager.pass();
    expect(p.seen).toHaveLength(0);
    expect(stager.counts.failures).toBe(1);
  });

  it("runs a pass per interval until stopped", async () => {
    const dbb = sink();
    const p = planner([]);
    const stager = new Prestager(p, () => capacity(2), dbb, logger().log, { ...DEFAULT_PRESTAGE, intervalMs: 5 });
    stager.start();
    for (let i = 0; i < 200 && p.seen.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    await stager.stop();
    const passes = p.seen.length;
    expect(passes).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 30));
    expect(p.seen.length).toBe(passes);
  });
});
