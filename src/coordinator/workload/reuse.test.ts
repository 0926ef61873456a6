import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { FileWithReplicasSchema } from "../../gen/orrery/v1/dbb_pb.js";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, emptyCounts, type LiveCampaign } from "./campaign-table.js";
import { newCampaignRecord } from "./initial-progress.js";
import type { IdentityRecord, ProducedReplica } from "./model.js";
import { buildExpansion, type Expansion } from "./quantum-builder.js";
import { doneMakers, resolveInputs, settleRows } from "./quantum-links.js";
import { catalogContent, decideReuse, identityRecord, reuseQueries, type CatalogContent, type ReuseCandidate } from "./reuse.js";

const spec = parseCampaign({
  sourceName: "campaign.yaml",
  specYaml: `apiVersion: orrery/v1
kind: Campaign
name: reuse-test
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {postISR: {datasetType: postISRCCD}}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument]
      inputs: {postISR: {datasetType: postISRCCD, multiple: true}}
      outputs: {coadd: {datasetType: deepCoadd}}
data: {scope: hsc}
output: {scope: out, run: reuse-test/run1}
reuse: true
`,
});

const raws: CatalogFile[] = [0, 1].map((detector) => ({
  scope: "hsc", name: `raw/r_${detector}.fits`, datasetType: "raw", dataId: { instrument: "HSC", detector }, metadata: {},
  bytes: 10, adler32: "1", md5: `raw-${detector}`, validFrom: "", validTo: "", rses: ["site-a-disk"],
}));

/** The submit-time expansion, appended as the rows of a campaign in a fresh table (rows in graph order: isr 0, isr 1, coadd). */
function fresh(): { expansion: Expansion; table: CampaignTable; c: LiveCampaign } {
  const expansion = buildExpansion(spec, expandGraph(spec, new Map([["raw", raws]])));
  const table = new CampaignTable();
  const c = table.addCampaign(newCampaignRecord(spec, 1), spec);
  c.rows.append(expansion);
  return { expansion, table, c };
}

/** What the manager asks decideReuse about new row i: its identity and its task's output roles. */
const candidate = (e: Expansion, i: number): ReuseCandidate => ({ identity: e.identity(i), outputRoles: Object.keys(spec.tasks.find((t) => t.name === e.task(i))!.outputs) });

/** An earlier run's record of new row i: its outputs as it produced them (on a campaign of its own). */
function record(e: Expansion, i: number, md5 = `md5-${e.id(i)}`): IdentityRecord {
  const { c } = fresh();
  c.rows.restore(i, { ...c.rows.progress(i), state: "SUCCEEDED" });
  c.rows.runOf(i).produced = e.definition(i).outputs.map((o) => ({ role: o.role, did: o.did, rse: "site-a-disk", bytes: 7, adler32: "ad", md5 }));
  return identityRecord(c, i);
}

/** An identity index with a record of every new row. */
const indexOf = (e: Expansion) => new Map(Array.from({ length: e.count }, (_, i) => [e.identity(i), record(e, i)] as const));

/** decideReuse on each new row: those to skip, by id, each with the replicas it reuses. */
function reusable(e: Expansion, index: ReadonlyMap<string, IdentityRecord>, catalog: ReadonlyMap<string, CatalogContent>): Map<string, ProducedReplica[]> {
  const out = new Map<string, ProducedReplica[]>();
  for (let i = 0; i < e.count; i++) {
    const produced = decideReuse(candidate(e, i), index.get(e.identity(i)), catalog);
    if (produced) out.set(e.id(i), produced);
  }
  return out;
}

const available = (md5: string, rses = ["site-a-disk"]): CatalogContent => ({ bytes: 7, adler32: "ad", md5, rses });

describe("reuse decisions", () => {
  it("skips a quantum whose identity succeeded before and whose outputs are AVAILABLE with the same bytes", () => {
    const { expansion: e } = fresh();
    const [isr0, isr1, coadd] = [0, 1, 2].map((i) => e.definition(i));
    const index = indexOf(e);
    const catalog = new Map<string, CatalogContent>([
      [isr0!.outputs[0]!.did, available(`md5-${isr0!.id}`, ["site-a-disk", "site-b-disk"])],
      // Re-made since with other bytes: the record no longer describes it.
      [isr1!.outputs[0]!.did, available("other-bytes")],
      // Present in the catalog but no AVAILABLE replica.
      [coadd!.outputs[0]!.did, available(`md5-${coadd!.id}`, [])],
    ]);
    const reused = reusable(e, index, catalog);
    expect([...reused.keys()]).toEqual([isr0!.id]);
    expect(reused.get(isr0!.id)!.map((p) => p.rse)).toEqual(["site-a-disk", "site-b-disk"]);
    expect(reused.get(isr0!.id)![0]).toMatchObject({ role: "postISR", did: isr0!.outputs[0]!.did, md5: `md5-${isr0!.id}`, bytes: 7 });
  });

  it("runs a quantum whose identity is not in the index, or whose outputs are gone from the catalog", () => {
    const { expansion: e } = fresh();
    const all = new Map(Array.from({ length: e.count }, (_, i) => [e.definition(i).outputs[0]!.did, available(`md5-${e.id(i)}`)] as const));
    expect(reusable(e, new Map(), all).size).toBe(0);
    const index = indexOf(e);
    expect(reusable(e, index, new Map()).size).toBe(0);
    expect(reusable(e, index, all).size).toBe(3);
  });

  it("reuses outputs of another run (other DIDs) when the identity matches", () => {
    const { expansion: e } = fresh();
    const other: IdentityRecord = { quantum: "other.isr.1", campaign: "other", task: "isr", outputs: [{ role: "postISR", did: "out:other/postISRCCD_HSC_0.fits", datasetType: "postISRCCD", bytes: 7, adler32: "ad", md5: "m" }] };
    const reused = decideReuse(candidate(e, 0), other, new Map([["out:other/postISRCCD_HSC_0.fits", available("m")]]));
    expect(reused![0]!.did).toBe("out:other/postISRCCD_HSC_0.fits");
    expect(reuseQueries([other])).toEqual(new Map([["out", new Set(["postISRCCD"])]]));
  });

  it("counts only AVAILABLE replicas holding the file's current bytes", () => {
    const f = create(FileWithReplicasSchema, {
      file: { scope: "out", name: "a.fits", md5: "new", bytes: 7n, adler32: "ad" },
      replicas: [
        { did: "out:a.fits", rse: "site-a-disk", state: "AVAILABLE", md5: "new" },
        { did: "out:a.fits", rse: "site-b-disk", state: "BAD", md5: "old" },
        { did: "out:a.fits", rse: "site-c-disk", state: "AVAILABLE", md5: "old" },
      ],
    });
    expect(catalogContent([f]).get("out:a.fits")).toEqual({ bytes: 7, adler32: "ad", md5: "new", rses: ["site-a-disk"] });
  });

  it("makes the consumers of skipped quanta READY, reading the reused files", () => {
    const reusedFile = (id: string): ProducedReplica[] => ["site-a-disk", "site-b-disk"].map((rse) => ({ role: "postISR", did: `out:old/${id}.fits`, rse, bytes: 7, adler32: "ad", md5: `md5-${id}` }));
    const states = (c: LiveCampaign) => Array.from({ length: c.rows.length }, (_, row) => c.rows.state(row));

    // Only one maker skipped: the coadd still waits for the other.
    const one = fresh();
    const [isr0, isr1, coadd] = [0, 1, 2].map((i) => one.expansion.id(i));
    settleRows(one.c.rows, 0, one.expansion.count, new Map([[0, reusedFile(isr0!)]]));
    expect(states(one.c)).toEqual(["SKIPPED", "READY", "PENDING"]);
    expect(one.c.rows.run(0)?.produced).toEqual(reusedFile(isr0!));
    one.table.addRows(one.c, 0);
    expect(one.c.counts).toEqual({ ...emptyCounts(), SKIPPED: 1, READY: 1, PENDING: 1 });
    expect([...one.c.ready]).toEqual([1]);

    const again = fresh();
    settleRows(again.c.rows, 0, again.expansion.count, new Map([0, 1].map((row) => [row, reusedFile(again.expansion.id(row))])));
    expect(states(again.c)).toEqual(["SKIPPED", "SKIPPED", "READY"]);
    // The coadd's definition only has the plan; its lease reads what the skipped makers reuse.
    const coaddRow = 2;
    expect(again.c.rows.task(coaddRow)).toBe("coadd");
    const inputs = again.expansion.definition(coaddRow).inputs;
    // What the skipped makers' stored progress holds: the files they reuse.
    const produced = new Map(doneMakers(again.c.rows, coaddRow).map((id) => [id, again.c.rows.run(again.c.rows.rowOf(id)!)!.produced]));
    expect([...produced.keys()]).toEqual([isr0, isr1]);
    expect(resolveInputs(again.c, inputs, produced).map((i) => ({ did: i.did, md5: i.md5, rses: i.rses }))).toEqual([
      { did: `out:old/${isr0!}.fits`, md5: `md5-${isr0!}`, rses: ["site-a-disk", "site-b-disk"] },
      { did: `out:old/${isr1!}.fits`, md5: `md5-${isr1!}`, rses: ["site-a-disk", "site-b-disk"] },
    ]);
    expect(coadd).toBe(again.expansion.id(coaddRow));
    expect(again.c.rows.id(coaddRow)).toBe(coadd);
  });
});
