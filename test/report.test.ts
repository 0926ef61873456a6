// `orrery report` on a real 2-site cluster: inputs only at site-a, no wait for
// locality, so site-b's agent stages them from the other site; a task that
// fails twice. The report's figures add up to what `quanta` lists (attempts by
// task, site and outcome; wall time) and to what the provenance records say
// (CPU, peak memory, bytes in by source, bytes out), and a coordinator
// restart keeps them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { createUnaryClient, type UnaryClient } from "../src/common/grpc-service.js";
import { clientSecurity } from "../src/common/grpc-security.js";
import { attemptOutcomes, campaignStates } from "../src/common/wire-enums.js";
import { CampaignService } from "../src/gen/orrery/v1/coordinator_pb.js";
import { tempDir, until } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface Figures {
  quanta: number;
  succeeded: number;
  attempts: number;
  outcomes: Record<string, number>;
  cpuMs: number;
  wallMs: number;
  peakRssBytes: number;
  bytesIn: { cache: number; ownSite: number; otherSite: number };
  bytesOut: number;
}
interface Report {
  campaign: string;
  state: string;
  tasks: Record<string, Record<string, Figures>>;
  totals: Figures & { distinctQuanta: number };
}
interface Provenance {
  cpuSeconds: number;
  peakRssBytes: number;
  inputs: { source: string; bytes: number }[];
  outputs: { bytes: number }[];
}

const NAME = "acct";
const RAWS = 6;

const CAMPAIGN = `apiVersion: orrery/v1
kind: Campaign
name: ${NAME}
pipeline:
  tasks:
    isr:
      command: [node, test/fixtures/payloads/copy-after.mjs, "0.3", "{inputs.raw}", "{outputs.out}"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {out: {datasetType: acctIsr}}
      resources: {cores: 1, memoryMB: 100, diskMB: 100}
    coadd:
      command: [node, test/fixtures/payloads/copy-after.mjs, "0.1", "{inputs.isr}", "{outputs.out}"]
      dimensions: [detector]
      inputs: {isr: {datasetType: acctIsr}}
      outputs: {out: {datasetType: acctCoadd}}
      resources: {cores: 1, memoryMB: 100, diskMB: 100}
    broken:
      command: [node, test/fixtures/payloads/fail-with.mjs, "3"]
      dimensions: [instrument]
      inputs: {flat: {datasetType: flat}}
      outputs: {out: {datasetType: acctBroken}}
      resources: {cores: 1, memoryMB: 100, diskMB: 100}
data: {scope: acct}
output: {scope: acct-out, run: ${NAME}/run1}
retries: {failures: 1}
`;

const ADDITIVE = ["quanta", "succeeded", "attempts", "cpuMs", "wallMs", "bytesOut"] as const;

describe("orrery report on a real 2-site cluster", () => {
  let dir: string;
  // Bulk reads (quanta, provenance records) go through the same RPCs as the CLI, in this process: a CLI start per record is too slow.
  let client: UnaryClient<(typeof CampaignService)["method"]>;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  beforeAll(async () => {
    dir = tempDir("report");
    const cluster = await startCluster({ dir, sites: 2, agents: 2, softwareRoot: REPO_ROOT, heartbeatMs: 300, agentCores: 2, agentPrefetch: 0, localityDelayMs: 0, prestage: false });
    client = createUnaryClient(CampaignService, cluster.coordinator, undefined, clientSecurity(cluster));
    const folder = join(dir, "data");
    mkdirSync(folder, { recursive: true });
    const lines = Array.from({ length: RAWS }, (_, d) => {
      writeFileSync(join(folder, `raw_${d}.dat`), `raw ${d}\n`.repeat(200 + 50 * d));
      return JSON.stringify({ path: `raw_${d}.dat`, scope: "acct", datasetType: "raw", dataId: { detector: d } });
    });
    writeFileSync(join(folder, "flat.dat"), "flat\n".repeat(100));
    lines.push(JSON.stringify({ path: "flat.dat", scope: "acct", datasetType: "flat", dataId: { instrument: "X" } }));
    writeFileSync(join(folder, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(folder, "manifest.jsonl")]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("adds up to the campaign's attempts, times and bytes, and a coordinator restart keeps it", async () => {
    writeFileSync(join(dir, "acct.yaml"), CAMPAIGN);
    const submit = await cli(["submit", join(dir, "acct.yaml")]);
    expect(submit.code, submit.stderr).toBe(0);
    const state = async () => campaignStates.name((await client.status({ campaign: NAME })).campaigns[0]!.state);
    await until("the campaign ends", async () => ["SUCCEEDED", "FAILED"].includes((await state()) ?? ""), 30_000);

    const [report, listed, rses] = await Promise.all([json<Report>(["report", NAME]), client.listQuanta({ campaign: NAME }), json<{ name: string; site: string }[]>(["dbb", "rse", "list"])]);
    const quanta = listed.quanta.map((q) => ({
      id: q.id,
      task: q.task,
      succeeded: q.attempts.some((a) => attemptOutcomes.name(a.outcome) === "succeeded"),
      attempts: q.attempts.map((a) => ({ site: a.site, outcome: attemptOutcomes.name(a.outcome) ?? "", startMs: Number(a.startMs), endMs: Number(a.endMs) })),
    }));
    expect(report.campaign).toBe(NAME);
    expect(report.state).toBe("FAILED");
    const cells = Object.entries(report.tasks).flatMap(([task, sites]) => Object.entries(sites).map(([site, f]) => ({ task, site, f })));

    // Every cell summed is the totals; peak memory is the largest.
    for (const k of ADDITIVE) expect(report.totals[k], k).toBe(cells.reduce((s, c) => s + c.f[k], 0));
    for (const k of ["cache", "ownSite", "otherSite"] as const) expect(report.totals.bytesIn[k], k).toBe(cells.reduce((s, c) => s + c.f.bytesIn[k], 0));
    expect(report.totals.peakRssBytes).toBe(Math.max(...cells.map((c) => c.f.peakRssBytes)));
    for (const { f } of cells) expect(f.attempts).toBe(Object.values(f.outcomes).reduce((s, n) => s + n, 0));

    // Attempts: what `quanta` lists, by task, site and outcome; quanta once per site; wall time from their times.
    const attempts = quanta.flatMap((q) => q.attempts.map((a, i) => ({ q, a, n: i + 1 })));
    expect(report.totals.attempts).toBe(attempts.length);
    expect(report.totals.attempts).toBe(RAWS * 2 + 2);
    const outcomes: Record<string, number> = {};
    for (const { a } of attempts) outcomes[a.outcome] = (outcomes[a.outcome] ?? 0) + 1;
    expect(report.totals.outcomes).toEqual(outcomes);
    expect(outcomes).toEqual({ succeeded: RAWS * 2, payload_error: 2 });
    for (const { task, site, f } of cells) {
      const here = attempts.filter(({ q, a }) => q.task === task && a.site === site);
      const byOutcome: Record<string, number> = {};
      for (const { a } of here) byOutcome[a.outcome] = (byOutcome[a.outcome] ?? 0) + 1;
      expect(f.outcomes, `${task} at ${site}`).toEqual(byOutcome);
      expect(f.quanta, `${task} at ${site}`).toBe(new Set(here.map(({ q }) => q.id)).size);
      expect(f.succeeded).toBe(here.filter(({ a }) => a.outcome === "succeeded").length);
      expect(f.wallMs).toBe(here.reduce((s, { a }) => s + (a.endMs - a.startMs), 0));
    }
    expect(report.totals.distinctQuanta).toBe(quanta.filter((q) => q.attempts.length > 0).length);
    expect(report.totals.succeeded).toBe(quanta.filter((q) => q.succeeded).length);

    // CPU, peak memory and bytes: what each attempt's provenance record says.
    const siteOfRse = new Map(rses.map((r) => [r.name, r.site]));
    const records = await Promise.all(attempts.map(async (x) => ({ ...x, p: JSON.parse((await client.getProvenance({ quantum: x.q.id, attempt: x.n })).provenanceJson) as Provenance })));
    const bytesIn = { cache: 0, ownSite: 0, otherSite: 0 };
    let bytesOut = 0;
    let cpuMs = 0;
    for (const { a, p } of records) {
      for (const i of p.inputs) {
        if (i.source === "cache") bytesIn.cache += i.bytes;
        else if (siteOfRse.get(i.source) === a.site) bytesIn.ownSite += i.bytes;
        else bytesIn.otherSite += i.bytes;
      }
      if (a.outcome === "succeeded") bytesOut += p.outputs.reduce((s, o) => s + o.bytes, 0);
      cpuMs += Math.round(p.cpuSeconds * 1000);
    }
    expect(report.totals.bytesIn).toEqual(bytesIn);
    expect(report.totals.bytesOut).toBe(bytesOut);
    expect(report.totals.cpuMs).toBe(cpuMs);
    expect(report.totals.peakRssBytes).toBe(Math.max(...records.map((r) => r.p.peakRssBytes)));
    // The inputs' real sizes: site-a read its own RSE, site-b another site's (it had no replica).
    const rawBytes = Array.from({ length: RAWS }, (_, d) => `raw ${d}\n`.length * (200 + 50 * d)).reduce((s, n) => s + n, 0);
    expect(bytesOut).toBe(rawBytes * 2);
    expect(report.tasks["isr"]?.["site-b"]?.bytesIn.otherSite ?? 0).toBeGreaterThan(0);
    expect(report.tasks["isr"]?.["site-a"]?.bytesIn.ownSite ?? 0).toBeGreaterThan(0);
    expect(report.totals.cpuMs).toBeGreaterThan(0);
    expect(report.totals.peakRssBytes).toBeGreaterThan(0);

    // People get a table with a totals line; an unknown campaign is a usage error naming it.
    const [text, unknown] = await Promise.all([cli(["report", NAME]), cli(["report", "no-such-campaign"])]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/TASK\s+SITE\s+QUANTA\s+OK\s+FAILED\s+KILLED\s+CPU_H\s+WALL_H\s+PEAK_MB\s+IN_CACHE_MB\s+IN_OWN_MB\s+IN_OTHER_MB\s+OUT_MB/);
    // Two failed attempts of one quantum (at one site or both).
    expect(text.stdout).toMatch(/^broken\s+site-\w\s+1\s+0\s+[12]\s+0\s/m);
    expect(text.stdout).toMatch(new RegExp(`^total\\s+${report.totals.quanta}\\s+${RAWS * 2}\\s+2\\s+0\\s`, "m"));
    expect(text.stdout).toContain(`${RAWS * 2 + 2} attempts on ${RAWS * 2 + 1} quanta (${RAWS * 2} succeeded)`);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no campaign named no-such-campaign");

    // The figures live on the campaign record: a restarted coordinator reports the same.
    const restart = await cli(["local", "restart", "coordinator"]);
    expect(restart.code, restart.stderr).toBe(0);
    await until("the restarted coordinator answers", async () => (await state().catch(() => undefined)) !== undefined, 20_000);
    expect(await json<Report>(["report", NAME])).toEqual(report);
  }, 90_000);
});
