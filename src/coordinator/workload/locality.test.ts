import { describe, expect, it } from "vitest";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, type LiveCampaign } from "./campaign-table.js";
import type { CampaignRecord } from "./model.js";
import { selectQuanta, type AgentSlot } from "./scheduler.js";
import { setFirstStates } from "./initial-progress.js";
import { LocalityFeed } from "./locality-feed.js";
import { createLogger } from "../../common/logger.js";

const NOW = 1_750_000_000_000;

interface Row {
  /** Input files: DID, bytes, RSEs holding it. */
  files?: [string, number, string[]][];
  /** Rows (of this campaign) whose outputs it reads. */
  upstream?: number[];
}

/** A table with one campaign of 1-core quanta, each reading the listed files; RSE `<site>-disk` belongs to `<site>`. */
function campaignOf(rows: Row[], opts: { clock?: () => number; extra?: string } = {}): { t: CampaignTable; c: LiveCampaign } {
  const t = new CampaignTable(undefined, opts.clock ?? (() => NOW));
  for (const site of ["site-a", "site-b", "site-c"]) t.replicas.setRseSite(`${site}-disk`, site);
  const spec = parseCampaign({
    sourceName: "loc.yaml",
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: loc
pipeline:
  tasks:
    small: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: out}}, resources: {cores: 1, memoryMB: 100, diskMB: 10}}
data: {scope: hsc}
output: {scope: out, run: loc}
${opts.extra ?? ""}`,
  });
  const record: CampaignRecord = { name: "loc", state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "", tasks: ["small"], expanded: ["small"], expansionError: "", generation: "" };
  const c = t.addCampaign(record, spec);
  const dids = new Map<string, number>();
  const bytes: number[] = [];
  const rses: string[][] = [];
  const fileStart = [0];
  const fileRows: number[] = [];
  const upStart = [0];
  const upRows: number[] = [];
  for (const r of rows) {
    for (const [did, size, where] of r.files ?? []) {
      if (!dids.has(did)) {
        dids.set(did, bytes.length);
        bytes.push(size);
        rses.push(where);
      }
      fileRows.push(dids.get(did)!);
    }
    fileStart.push(fileRows.length);
    upRows.push(...(r.upstream ?? []));
    upStart.push(upRows.length);
  }
  t.appendRows(c, {
    ranges: [{ task: "small", start: 0, count: rows.length }],
    count: rows.length,
    upstream: { start: Int32Array.from(upStart), rows: Int32Array.from(upRows) },
    identities: new Uint8Array(rows.length * IDENTITY_BYTES),
    inputs: { dids: [...dids.keys()], bytes: Float64Array.from(bytes), links: { start: Int32Array.from(fileStart), rows: Int32Array.from(fileRows) }, rses },
  });
  setFirstStates(c.rows, 0);
  t.addRows(c, 0);
  return { t, c };
}

function agent(site: string, a: Partial<AgentSlot> = {}): AgentSlot {
  return { id: `agent-${site}`, site, kind: "static", freeCores: 1, freeMemoryMB: 1000, freeDiskMB: 1000, ...a };
}

const seqs = (c: LiveCampaign, picked: { row: number }[]) => picked.map(({ row }) => row + 1);
const both = { activeSites: ["site-a", "site-b"], localityDelayMs: 5000 };

describe("locality: where a quantum's input bytes are", () => {
  const rows: Row[] = [
    { files: [["hsc:r1", 1000, ["site-a-disk"]]] },
    { files: [["hsc:r2", 1000, ["site-b-disk"]]] },
    { files: [["hsc:r3", 1000, ["site-a-disk"]], ["hsc:bias", 10, ["site-a-disk", "site-b-disk"]]] },
    { files: [["hsc:r4", 1000, ["site-b-disk"]], ["hsc:bias", 10, ["site-a-disk", "site-b-disk"]]] },
  ];

  it("gives each agent the quanta whose data its site holds", () => {
    const { t, c } = campaignOf(rows);
    expect(seqs(c, selectQuanta(t, agent("site-b", { freeCores: 4 }), NOW, both))).toEqual([2, 4]);
    expect(seqs(c, selectQuanta(t, agent("site-a", { freeCores: 4 }), NOW, both))).toEqual([1, 3]);
  });

  it("lets a quantum wait for its site for the locality delay, then run anywhere", () => {
    const { t, c } = campaignOf(rows.slice(0, 2));
    // Only quantum 1 (data at site-a) is left for a site-b agent with a busy site-a.
    c.ready.delete(1);
    expect(selectQuanta(t, agent("site-b"), NOW, both)).toEqual([]);
    expect(selectQuanta(t, agent("site-b"), NOW + 4999, both)).toEqual([]);
    expect(seqs(c, selectQuanta(t, agent("site-b"), NOW + 5000, both))).toEqual([1]);
  });

  it("keeps work at a site that goes on starting it: the wait restarts with each local start", () => {
    const { t, c } = campaignOf([1, 2, 3].map((n) => ({ files: [[`hsc:r${n}`, 1000, ["site-a-disk"]]] })));
    expect(seqs(c, selectQuanta(t, agent("site-a"), NOW + 4000, both))).toEqual([1]);
    t.transition(c, 0, "leased");
    // 5 s after the rows became ready, but site-a started one 1 s ago: site-b still waits.
    expect(selectQuanta(t, agent("site-b"), NOW + 5000, { ...both, localityDelayMs: 5000 })).toEqual([]);
    expect(seqs(c, selectQuanta(t, agent("site-b"), NOW + 9000, both))).toEqual([2]);
  });

  it("a campaign's localityWait overrides the coordinator's delay", () => {
    const { t, c } = campaignOf(rows.slice(0, 1), { extra: "localityWait: 60s" });
    expect(selectQuanta(t, agent("site-b"), NOW + 5000, both)).toEqual([]);
    expect(seqs(c, selectQuanta(t, agent("site-b"), NOW + 60_000, both))).toEqual([1]);
  });

  it("does not wait for a site where no agent is connected", () => {
    const { t, c } = campaignOf(rows.slice(0, 1));
    expect(seqs(c, selectQuanta(t, agent("site-b"), NOW, { activeSites: ["site-b"], localityDelayMs: 5000 }))).toEqual([1]);
  });

  it("does not wait for a site the campaign may not use", () => {
    const { t, c } = campaignOf(rows.slice(0, 1), { extra: "sites: {allow: [site-b]}" });
    expect(seqs(c, selectQuanta(t, agent("site-b"), NOW, both))).toEqual([1]);
  });

  it("runs at once a quantum whose data no site holds", () => {
    const { t, c } = campaignOf([{ files: [["hsc:x", 10, []]] }, {}]);
    expect(seqs(c, selectQuanta(t, agent("site-c", { freeCores: 2 }), NOW, both))).toEqual([1, 2]);
  });

  it("prefers the agent that caches a quantum's input, then its site", () => {
    const data: Row[] = [1, 2, 3, 4].map((n) => ({ files: [[`hsc:r${n}`, 1000, ["site-a-disk"]]] }));
    const { t, c } = campaignOf(data);
    const cache = t.replicas.addCached("agent-site-a", ["hsc:r3"]);
    c.ready.cached("agent-site-a", cache);
    expect(seqs(c, selectQuanta(t, agent("site-a"), NOW, both))).toEqual([3]);
    // A cache named at hello counts too, for quanta that become ready later.
    c.ready.delete(3);
    t.replicas.setCache("agent-2", ["hsc:r4"]);
    c.ready.add(3);
    expect(seqs(c, selectQuanta(t, agent("site-a", { id: "agent-2" }), NOW, both))).toEqual([4]);
  });

  it("moves a ready quantum when its replicas change", () => {
    const { t, c } = campaignOf(rows.slice(0, 1));
    expect(selectQuanta(t, agent("site-b"), NOW, both)).toEqual([]);
    const f = t.replicas.lookup("hsc:r1")!;
    expect(t.replicas.setReplica(f, "site-b-disk", true)).toBe(true);
    c.ready.replicasChanged([f]);
    expect(seqs(c, selectQuanta(t, agent("site-b"), NOW, both))).toEqual([1]);
  });

  it("follows outputs: a consumer prefers the site where its maker's outputs went", () => {
    const { t, c } = campaignOf([{ files: [["hsc:r1", 10, ["site-a-disk"]]] }, { upstream: [0] }]);
    const [first] = selectQuanta(t, agent("site-a"), NOW, both);
    t.transition(c, first!.row, "leased");
    c.rows.locality.setProduced(0, t.replicas.site("site-b")!, 5000);
    t.transition(c, 0, "succeeded");
    t.transition(c, 1, "inputs_ready");
    expect(selectQuanta(t, agent("site-a"), NOW, both)).toEqual([]);
    expect(seqs(c, selectQuanta(t, agent("site-b"), NOW, both))).toEqual([2]);
  });
});

describe("locality after a restart", () => {
  it("reads where a live campaign's inputs are from the DBB and places its ready quanta there", async () => {
    // Stored row indexes keep the files, not their replicas: a restarted coordinator knows no sites yet.
    const { t, c } = campaignOf([{ files: [["hsc:r1", 1000, []]] }, { files: [["hsc:r2", 1000, []]] }]);
    expect(seqs(c, selectQuanta(t, agent("site-b", { freeCores: 2 }), NOW, both))).toEqual([1, 2]);
    const replica = (did: string, rse: string) => ({ file: { scope: "hsc", name: did.slice(4) }, replicas: [{ rse, state: "AVAILABLE" }, { rse: "site-b-disk", state: "BAD" }] });
    const catalog = {
      files: () => Promise.resolve([replica("hsc:r1", "site-a-disk"), replica("hsc:r2", "site-b-disk")] as never),
      rseList: () => Promise.resolve([{ name: "site-a-disk", site: "site-a" }, { name: "site-b-disk", site: "site-b" }]),
    };
    const feed = new LocalityFeed(t, catalog, createLogger("test"));
    expect(await feed.loadRses()).toBe(true);
    await feed.refreshCampaign(c.spec, async (apply) => apply());
    expect(seqs(c, selectQuanta(t, agent("site-b", { freeCores: 2 }), NOW, both))).toEqual([2]);
    expect(seqs(c, selectQuanta(t, agent("site-a", { freeCores: 2 }), NOW, both))).toEqual([1]);
  });
});

describe("ordering within a campaign", () => {
  it("serves quanta with a deeper critical path first", () => {
    // 1 → 2 → 3 is a chain of three; 4 stands alone. Both 1 and 4 are ready; 1 leads the longer chain.
    const { t, c } = campaignOf([{}, { upstream: [0] }, { upstream: [1] }, {}]);
    c.ready.delete(0);
    c.ready.add(0); // became ready after 4: the order of readiness alone would pick 4
    expect(c.rows.locality.depth(0)).toBe(3);
    expect(c.rows.locality.depth(3)).toBe(1);
    expect(seqs(c, selectQuanta(t, agent("site-a", { freeCores: 1 }), NOW, both))).toEqual([1]);
  });
});

describe("fitting disk", () => {
  it("hands out no more scratch disk than the agent has free", () => {
    const { t, c } = campaignOf([{}, {}, {}]);
    expect(seqs(c, selectQuanta(t, agent("site-a", { freeCores: 8, freeDiskMB: 25 }), NOW, both))).toEqual([1, 2]);
    expect(selectQuanta(t, agent("site-a", { freeCores: 8, freeDiskMB: 9 }), NOW, both)).toEqual([]);
  });
});
