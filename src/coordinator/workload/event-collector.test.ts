import { describe, expect, it } from "vitest";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable } from "./campaign-table.js";
import { ProgressJournal } from "./progress-journal.js";
import type { QuantaStore } from "./quanta-store.js";
import type { CampaignRecord } from "./model.js";
import { MAX_QUANTUM_EVENTS_PER_FLUSH } from "./event-collector.js";

const spec = parseCampaign({
  sourceName: "c.yaml",
  specYaml: `apiVersion: orrery/v1
kind: Campaign
name: ev
pipeline:
  tasks:
    isr: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: postISRCCD}}}
data: {scope: hsc}
output: {scope: out, run: ev}
`,
});

const record = (): CampaignRecord => ({ name: "ev", state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "", tasks: ["isr"], expanded: ["isr"], expansionError: "", generation: "" });

function setup(count: number) {
  let failing = false;
  const saved: number[] = [];
  const store = {
    saveChanges: () => (failing ? Promise.reject(new Error("redis down")) : Promise.resolve(saved.push(1))),
    ping: () => (failing ? Promise.reject(new Error("redis down")) : Promise.resolve()),
  } as unknown as QuantaStore;
  const table = new CampaignTable(undefined, () => 42);
  const published: { subject: string; event: Record<string, unknown> }[] = [];
  const journal = new ProgressJournal(store, table, (subject, json) => published.push({ subject, event: JSON.parse(json) as Record<string, unknown> }));
  const c = table.addCampaign(record(), spec);
  table.appendRows(c, { ranges: [{ task: "isr", start: 0, count }], count, upstream: { start: new Int32Array(count + 1), rows: new Int32Array(0) }, identities: new Uint8Array(count * IDENTITY_BYTES) });
  table.addRows(c, 0);
  return { table, journal, c, published, saved, fail: (v: boolean) => (failing = v) };
}

describe("the journal's events", () => {
  it("publishes quantum and campaign events in the order of the changes, only once a flush is stored", async () => {
    const { table, journal, c, published, fail } = setup(2);
    journal.submitted(c);
    table.transition(c, 0, "inputs_ready");
    journal.touch(c, 0);
    table.transition(c, 0, "leased");
    c.rows.runOf(0).attempts.push({ number: 1, agent: "agent-1", site: "site-a", leaseId: "l", outcome: "", exitCode: 0, message: "", startMs: 1, endMs: 0 });
    journal.touch(c, 0);
    expect(published).toEqual([]);
    fail(true);
    await expect(journal.flush()).rejects.toThrow("redis down");
    expect(published).toEqual([]);
    // A record journaled in the same state is no event; a changed one is.
    journal.touchCampaign("ev");
    c.state = "PAUSED";
    journal.touchCampaign("ev");
    journal.ticketOpened({ campaign: "ev", quantum: c.rows.id(1), generation: "g", task: "isr", state: "open", outcome: "failed", exitCode: 3, message: "", stderrTail: "", attempt: 1, reason: "", openedMs: 42, closedMs: 0 });
    fail(false);
    await journal.flush();
    expect(published.map((p) => [p.subject, p.event["state"]])).toEqual([
      ["orrery.events.campaign.ev", "RUNNING"],
      ["orrery.events.quantum.ev", "READY"],
      ["orrery.events.quantum.ev", "RUNNING"],
      ["orrery.events.campaign.ev", "PAUSED"],
      ["orrery.events.ticket.ev", "open"],
    ]);
    expect(published[4]!.event).toEqual({ kind: "ticket", campaign: "ev", quantum: c.rows.id(1), task: "isr", state: "open", outcome: "failed", ts: 42 });
    expect(published[0]!.event).toMatchObject({ kind: "campaign", submitted: true, counts: { PENDING: 2 }, ts: 42 });
    expect(published[1]!.event).toEqual({ kind: "quantum", campaign: "ev", quantum: c.rows.id(0), task: "isr", state: "READY", ts: 42 });
    expect(published[2]!.event).toMatchObject({ attempt: 1, site: "site-a", agent: "agent-1" });
    expect(published[2]!.event["outcome"]).toBeUndefined();
    await journal.flush();
    expect(published).toHaveLength(5);
    // The attempt ends and the quantum is retried, leased again in the same turn: each event names its attempt.
    Object.assign(c.rows.runOf(0).attempts[0]!, { outcome: "failed", exitCode: 1, endMs: 2 });
    table.transition(c, 0, "retry");
    table.transition(c, 0, "leased");
    c.rows.runOf(0).attempts.push({ number: 2, agent: "agent-2", site: "site-b", leaseId: "l2", outcome: "", exitCode: 0, message: "", startMs: 3, endMs: 0 });
    journal.touch(c, 0);
    await journal.flush();
    expect(published.slice(5).map((p) => p.event)).toEqual([
      { kind: "quantum", campaign: "ev", quantum: c.rows.id(0), task: "isr", state: "READY", ts: 42, attempt: 1, site: "site-a", agent: "agent-1", outcome: "failed" },
      { kind: "quantum", campaign: "ev", quantum: c.rows.id(0), task: "isr", state: "RUNNING", ts: 42, attempt: 2, site: "site-b", agent: "agent-2" },
    ]);
  });

  it("sums up a flush's many quantum changes of a campaign in one campaign event with counts", async () => {
    const n = MAX_QUANTUM_EVENTS_PER_FLUSH + 5;
    const { table, journal, c, published } = setup(n);
    for (let row = 0; row < n; row++) {
      table.transition(c, row, "inputs_ready");
      journal.touch(c, row);
    }
    await journal.flush();
    expect(published).toHaveLength(1);
    expect(published[0]!.event).toMatchObject({ kind: "campaign", state: "RUNNING", quantaChanged: n, counts: { READY: n } });
  });
});
