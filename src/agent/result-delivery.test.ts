import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { QuantumResultSchema, type QuantumResult } from "../gen/orrery/v1/agent_link_pb.js";
import { AttemptOutcome } from "../gen/orrery/v1/common_pb.js";
import { createLogger } from "../common/logger.js";
import { openAgentStore, type AgentStore } from "./cache/index.js";
import { deliverResult, failedRunResult } from "./result-delivery.js";

const log = createLogger("result-delivery-test");

function success(leaseId: string): QuantumResult {
  return create(QuantumResultSchema, {
    leaseId,
    quantumId: "c.isr.1",
    attempt: 1,
    outcome: AttemptOutcome.SUCCEEDED,
    outputs: [{ role: "calexp", did: "drp:calexp/c_1.fits", rse: "site-a-disk", bytes: 5n, adler32: "0000000a", md5: "0".repeat(32) }],
  });
}

describe("result delivery on the agent's real journal", () => {
  let dir: string;
  let store: AgentStore;
  let sent: QuantumResult[];
  const sink = () => ({ journal: store.journal, send: (r: QuantumResult) => (sent.push(r), Promise.resolve(true)), log });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "orrery-delivery-"));
    store = openAgentStore(join(dir, "db"), 1000);
    sent = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("journals a result, then sends it as it is", async () => {
    await deliverResult(sink(), success("c.isr.1#1"));
    expect(sent.map((r) => r.outcome)).toEqual([AttemptOutcome.SUCCEEDED]);
    expect(store.journal.pendingResults().map((r) => r.leaseId)).toEqual(["c.isr.1#1"]);
  });

  it("reports an agent error, naming the journal, when the journal cannot record the result", async () => {
    await store.close(); // the LMDB environment is gone: every write fails
    await deliverResult(sink(), success("c.isr.1#1"));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.outcome).toBe(AttemptOutcome.AGENT_ERROR);
    expect(sent[0]!.message).toMatch(/^agent error: the journal could not record the result: .+ \(the attempt was succeeded\)$/);
    // An attempt the agent cannot vouch for claims no outputs.
    expect(sent[0]!.outputs).toEqual([]);
  });

  it("reports an agent error when the lease could not be journaled when it started", async () => {
    await deliverResult(sink(), success("c.isr.1#2"), "MDB_MAP_FULL");
    expect(sent[0]!.outcome).toBe(AttemptOutcome.AGENT_ERROR);
    expect(sent[0]!.message).toContain("the journal could not record the lease when it started: MDB_MAP_FULL");
    expect(store.journal.pendingResults().map((r) => r.outcome)).toEqual([AttemptOutcome.AGENT_ERROR]);
  });

  it("a lease run that failed on the agent is an agent error, not a payload error", () => {
    const r = failedRunResult({ leaseId: "c.isr.1#3", quantumId: "c.isr.1", attempt: 3 }, new Error("ENOTDIR: not a directory, mkdir '/w/leases/x'"), 1);
    expect(r.outcome).toBe(AttemptOutcome.AGENT_ERROR);
    expect(r.message).toBe("agent error: the lease run failed on the agent: ENOTDIR: not a directory, mkdir '/w/leases/x'");
  });
});
