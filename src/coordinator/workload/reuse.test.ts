import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { FileWithReplicasSchema } from "../../gen/orrery/v1/dbb_pb.js";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { parseCampaign } from "../campaign/spec.js";
import type { IdentityRecord, ProducedReplica, Quantum } from "./model.js";
import { buildQuanta } from "./quantum-builder.js";
import { settleStates } from "./quantum-links.js";
import { catalogContent, decideReuse, identityRecord, reuseQueries, type CatalogContent } from "./reuse.js";

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
const fresh = () => buildQuanta(spec, expandGraph(spec, new Map([["raw", raws]])));

/** An earlier run's record of a quantum: its outputs as it produced them. */
function record(q: Quantum, md5 = `md5-${q.id}`): IdentityRecord {
  const done: Quantum = { ...q, progress: { ...q.progress, state: "SUCCEEDED", produced: q.outputs.map((o) => ({ role: o.role, did: o.did, rse: "site-a-disk", bytes: 7, adler32: "ad", md5 })) } };
  return identityRecord(done);
}
const available = (md5: string, rses = ["site-a-disk"]): CatalogContent => ({ bytes: 7, adler32: "ad", md5, rses });

describe("reuse decisions", () => {
  it("skips a quantum whose identity succeeded before and whose outputs are AVAILABLE with the same bytes", () => {
    const quanta = fresh();
    const [isr0, isr1, coadd] = quanta as [Quantum, Quantum, Quantum];
    const index = new Map(quanta.map((q) => [q.identity, record(q)]));
    const catalog = new Map<string, CatalogContent>([
      [isr0.outputs[0]!.did, available(`md5-${isr0.id}`, ["site-a-disk", "site-b-disk"])],
      // Re-made since with other bytes: the record no longer describes it.
      [isr1.outputs[0]!.did, available("other-bytes")],
      // Present in the catalog but no AVAILABLE replica.
      [coadd.outputs[0]!.did, available(`md5-${coadd.id}`, [])],
    ]);
    const reused = decideReuse(quanta, index, catalog);
    expect([...reused.keys()]).toEqual([isr0.id]);
    expect(reused.get(isr0.id)!.map((p) => p.rse)).toEqual(["site-a-disk", "site-b-disk"]);
    expect(reused.get(isr0.id)![0]).toMatchObject({ role: "postISR", did: isr0.outputs[0]!.did, md5: `md5-${isr0.id}`, bytes: 7 });
  });

  it("runs a quantum whose identity is not in the index, or whose outputs are gone from the catalog", () => {
    const quanta = fresh();
    const all = new Map(quanta.map((q) => [q.outputs[0]!.did, available(`md5-${q.id}`)]));
    expect(decideReuse(quanta, new Map(), all).size).toBe(0);
    const index = new Map(quanta.map((q) => [q.identity, record(q)]));
    expect(decideReuse(quanta, index, new Map()).size).toBe(0);
    expect(decideReuse(quanta, index, all).size).toBe(3);
  });

  it("reuses outputs of another run (other DIDs) when the identity matches", () => {
    const quanta = fresh();
    const q = quanta[0]!;
    const other: IdentityRecord = { quantum: "other.isr.1", campaign: "other", task: "isr", outputs: [{ role: "postISR", did: "out:other/postISRCCD_HSC_0.fits", datasetType: "postISRCCD", bytes: 7, adler32: "ad", md5: "m" }] };
    const reused = decideReuse([q], new Map([[q.identity, other]]), new Map([["out:other/postISRCCD_HSC_0.fits", available("m")]]));
    expect(reused.get(q.id)![0]!.did).toBe("out:other/postISRCCD_HSC_0.fits");
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
    const quanta = fresh();
    const [isr0, isr1, coadd] = quanta as [Quantum, Quantum, Quantum];
    const byId = new Map(quanta.map((q) => [q.id, q]));
    const reusedFile = (q: Quantum): ProducedReplica[] => ["site-a-disk", "site-b-disk"].map((rse) => ({ role: "postISR", did: `out:old/${q.id}.fits`, rse, bytes: 7, adler32: "ad", md5: `md5-${q.id}` }));

    // Only one maker skipped: the coadd still waits for the other.
    settleStates(quanta, new Map([[isr0.id, reusedFile(isr0)]]), (id) => byId.get(id));
    expect(quanta.map((q) => q.progress.state)).toEqual(["SKIPPED", "READY", "PENDING"]);

    const again = fresh();
    const againById = new Map(again.map((q) => [q.id, q]));
    settleStates(again, new Map(again.slice(0, 2).map((q) => [q.id, reusedFile(q)])), (id) => againById.get(id));
    expect(again.map((q) => q.progress.state)).toEqual(["SKIPPED", "SKIPPED", "READY"]);
    expect(again[2]!.inputs.map((i) => ({ did: i.did, md5: i.md5, rses: i.rses }))).toEqual([
      { did: `out:old/${isr0.id}.fits`, md5: `md5-${isr0.id}`, rses: ["site-a-disk", "site-b-disk"] },
      { did: `out:old/${isr1.id}.fits`, md5: `md5-${isr1.id}`, rses: ["site-a-disk", "site-b-disk"] },
    ]);
    expect(coadd.id).toBe(again[2]!.id);
  });
});
