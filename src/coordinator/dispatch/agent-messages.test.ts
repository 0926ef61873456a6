import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AgentMessageSchema, type Credit, type Heartbeat, type Hello, type OutputReplica, type QuantumResult } from "../../gen/orrery/v1/agent_link_pb.js";
import { AttemptOutcome, NodeKind } from "../../gen/orrery/v1/common_pb.js";
import { ErrorCode } from "../../common/errors.js";
import { AgentMessageParser, foreignLeaseRefusal, type ParseResult } from "./agent-messages.js";

/** A message's fields without protobuf-es's bookkeeping: spread and changed by the cases below. */
type Fields<T> = Omit<T, "$typeName" | "$unknown">;
type HelloInit = Fields<Hello>;
type CreditInit = Fields<Credit>;
type HeartbeatInit = Fields<Heartbeat>;
type ResultInit = Omit<Fields<QuantumResult>, "outputs"> & { outputs: Fields<OutputReplica>[] };

const parser = new AgentMessageParser();
const hello: HelloInit = {
  agentId: "node-1.site-a",
  site: "site-a",
  kind: NodeKind.HPC,
  cores: 8,
  memoryMb: 16000,
  diskMb: 50000,
  cacheBytes: 1234n,
  cacheFiles: 3,
  host: "node-1.example",
  cachedDids: ["hsc:raw/r_1.fits"],
  prefetch: 1,
  leaveByMs: 0n,
  batchJob: "",
};
const credit: CreditInit = { freeCores: 4, freeMemoryMb: 8000, freeDiskMb: 1000, prefetchCores: 8, prefetchMemoryMb: 16000, prefetchDiskMb: 2000 };
const heartbeat: HeartbeatInit = { running: ["mini.calibrate.7#1"], cacheBytes: 10n, cacheAdded: ["hsc:raw/r_2.fits"], cacheRemoved: [] };
const output: Fields<OutputReplica> = { role: "calexp", did: "drp:run1/calexp/c_1.fits", rse: "site-a-disk", bytes: 99n, adler32: "0a1b2c3d", md5: "0123456789abcdef0123456789abcdef" };
const result: ResultInit = {
  leaseId: "mini.calibrate.7#2",
  quantumId: "mini.calibrate.7",
  attempt: 2,
  outcome: AttemptOutcome.SUCCEEDED,
  exitCode: 0,
  message: "",
  startMs: 1_700_000_000_000n,
  endMs: 1_700_000_001_000n,
  outputs: [output],
  stdoutTail: "ok\n",
  stderrTail: "",
  provenanceJson: '{"host":"node-1"}',
  peakRssBytes: 1_000_000n,
};

const parse = (msg: MessageInitShape<typeof AgentMessageSchema>, helloSeen = true): ParseResult => parser.parse(create(AgentMessageSchema, msg), helloSeen);
const refusalOf = (r: ParseResult) => {
  if (r.ok) throw new Error("expected a refusal");
  return r.refusal;
};
const big = (n: number) => Array.from({ length: n }, (_, i) => `s:f${i}`);

describe("agent messages at the edge", () => {
  it("turns valid messages into typed values: enums as names, int64 as numbers", () => {
    expect(parse({ msg: { case: "hello", value: hello } }, false)).toMatchObject({
      ok: true,
      message: { case: "hello", value: { agentId: "node-1.site-a", kind: "hpc", memoryMB: 16000, diskMB: 50000, cacheBytes: 1234, cachedDids: ["hsc:raw/r_1.fits"] } },
    });
    expect(parse({ msg: { case: "credit", value: credit } })).toMatchObject({ ok: true, message: { value: { free: { cores: 4, memoryMB: 8000, diskMB: 1000 }, prefetch: { cores: 8 } } } });
    expect(parse({ msg: { case: "heartbeat", value: heartbeat } })).toMatchObject({ ok: true, message: { value: { running: ["mini.calibrate.7#1"], cacheBytes: 10 } } });
    expect(parse({ msg: { case: "result", value: result } })).toMatchObject({
      ok: true,
      message: { case: "result", value: { outcome: "succeeded", startMs: 1_700_000_000_000, stdout: "ok\n", outputs: [{ bytes: 99, did: output.did }], peakRssBytes: 1_000_000 } },
    });
    for (const [wire, name] of [
      [AttemptOutcome.PAYLOAD_ERROR, "payload_error"],
      [AttemptOutcome.STAGE_OUT_ERROR, "stage_out_error"],
      [AttemptOutcome.LOST, "lost"],
    ] as const) {
      expect(parse({ msg: { case: "result", value: { ...result, outcome: wire } } })).toMatchObject({ message: { value: { outcome: name } } });
    }
    expect(parse({ msg: { case: "hello", value: { ...hello, kind: NodeKind.SPOT } } }, false)).toMatchObject({ message: { value: { kind: "spot" } } });
    expect(parse({ msg: { case: "hello", value: hello } }, false)).toMatchObject({ message: { value: { leaveByMs: undefined, batchJob: "" } } });
    expect(parse({ msg: { case: "hello", value: { ...hello, leaveByMs: 1_900_000_000_000n, batchJob: "4711" } } }, false)).toMatchObject({
      message: { value: { leaveByMs: 1_900_000_000_000, batchJob: "4711" } },
    });
  });

  it("refuses a stream that does not start with Hello, repeats it, or sends an unknown message", () => {
    expect(refusalOf(parse({ msg: { case: "credit", value: credit } }, false))).toMatchObject({ reason: "hello_missing", error: { code: ErrorCode.INVALID_ARGUMENT } });
    expect(refusalOf(parse({ msg: { case: "hello", value: hello } }, true)).reason).toBe("hello_repeated");
    expect(refusalOf(parse({}, true)).reason).toBe("unknown_message");
  });

  const helloCases: [string, Partial<HelloInit>, string][] = [
    ["agent id empty", { agentId: "" }, "hello.agent_id: must be 1..128"],
    ["agent id with a space", { agentId: "a b" }, "hello.agent_id: must be"],
    ["agent id too long", { agentId: "a".repeat(129) }, "hello.agent_id"],
    ["site with a slash", { site: "a/b" }, "hello.site: must be 1..64"],
    ["kind unset", { kind: NodeKind.UNSPECIFIED }, "hello.kind: must be hpc, spot or static"],
    ["kind unknown", { kind: 42 as NodeKind }, "hello.kind: must be hpc, spot or static (NodeKind) (got 42)"],
    ["no cores", { cores: 0 }, "hello.cores: must be at least 1 (got 0)"],
    ["too many cores", { cores: 1_000_000 }, "hello.cores: must be at most 4096 (got 1000000)"],
    ["no memory", { memoryMb: 0 }, "hello.memory_mb: must be at least 1"],
    ["too much memory", { memoryMb: 4_000_000_000 }, "hello.memory_mb: must be at most"],
    ["too much disk", { diskMb: 4_000_000_000 }, "hello.disk_mb: must be at most"],
    ["negative cache bytes", { cacheBytes: -1n }, "hello.cache_bytes: must be at least 0 (got -1)"],
    ["cache bytes past 2^53", { cacheBytes: 2n ** 60n }, "hello.cache_bytes: must be at most"],
    ["pilot end negative", { leaveByMs: -5n }, "hello.leave_by_ms: must be at least 0"],
    ["batch job with a space", { batchJob: "12 34" }, "hello.batch_job: must be up to 64 of"],
    ["too many cache files", { cacheFiles: 4_000_000_000 }, "hello.cache_files: must be at most"],
    ["host with a space", { host: "node 1" }, "hello.host: must be up to 255"],
    ["a cached DID without scope", { cachedDids: ["ok:x", "no-scope"] }, 'hello.cached_dids[1]: must be DIDs (scope:name) (got "no-scope")'],
    ["a cached DID too long", { cachedDids: [`s:${"x".repeat(1100)}`] }, "hello.cached_dids[0]: is 1102 characters, over the cap of 1024"],
    ["too many cached DIDs", { cachedDids: big(100_001) }, "hello.cached_dids: has 100001 entries, over the cap of 100000"],
    ["prefetch too large", { prefetch: 17 }, "hello.prefetch: must be at most 16"],
  ];
  it.each(helloCases)("refuses a hello with %s", (_, change, field) => {
    const r = refusalOf(parse({ msg: { case: "hello", value: { ...hello, ...change } } }, false));
    expect(r.reason).toBe("malformed_hello");
    expect(r.error.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(r.error.message).toContain(field);
  });

  const creditCases: [string, Partial<CreditInit>, string][] = [
    ["too many free cores", { freeCores: 5000 }, "credit.free_cores: must be at most 4096"],
    ["too much free memory", { freeMemoryMb: 4_000_000_000 }, "credit.free_memory_mb"],
    ["too much free disk", { freeDiskMb: 4_000_000_000 }, "credit.free_disk_mb"],
    ["too much prefetch room", { prefetchCores: 4096 * 16 + 1 }, "credit.prefetch_cores: must be at most 65536"],
    ["too much prefetch memory", { prefetchMemoryMb: 4_294_967_295 }, "credit.prefetch_memory_mb"],
  ];
  it.each(creditCases)("refuses a credit with %s", (_, change, field) => {
    const r = refusalOf(parse({ msg: { case: "credit", value: { ...credit, ...change } } }));
    expect(r.reason).toBe("malformed_credit");
    expect(r.error.message).toContain(field);
  });

  const heartbeatCases: [string, Partial<HeartbeatInit>, string][] = [
    ["a running lease id without attempt", { running: ["q-1"] }, 'heartbeat.running[0]: must be lease ids (quantum_id#attempt) (got "q-1")'],
    ["a running lease id with junk", { running: ["a#1", "\u0000#1"] }, "heartbeat.running[1]"],
    ["too many running leases", { running: Array.from({ length: 100_001 }, (_, i) => `q.t.${i}#1`) }, "heartbeat.running: has 100001 entries"],
    ["negative cache bytes", { cacheBytes: -5n }, "heartbeat.cache_bytes: must be at least 0"],
    ["an added DID with a newline", { cacheAdded: ["s:a\nb"] }, "heartbeat.cache_added[0]"],
    ["a removed DID with an absolute name", { cacheRemoved: ["s:/etc/passwd"] }, 'heartbeat.cache_removed[0]: must be DIDs (scope:name) (got "s:/etc/passwd")'],
    ["too many removed DIDs", { cacheRemoved: big(100_001) }, "heartbeat.cache_removed: has 100001 entries"],
  ];
  it.each(heartbeatCases)("refuses a heartbeat with %s", (_, change, field) => {
    const r = refusalOf(parse({ msg: { case: "heartbeat", value: { ...heartbeat, ...change } } }));
    expect(r.reason).toBe("malformed_heartbeat");
    expect(r.error.message).toContain(field);
  });

  const resultCases: [string, Partial<ResultInit>, string][] = [
    ["a lease id of another quantum", { leaseId: "other.task.1#2" }, "result.lease_id: must be quantum_id#attempt"],
    ["a lease id of another attempt", { leaseId: "mini.calibrate.7#3" }, "result.lease_id: must be quantum_id#attempt"],
    ["a malformed lease id", { leaseId: "mini calibrate" }, "result.lease_id: must be quantum_id#attempt"],
    ["a quantum id with a slash", { quantumId: "a/b" }, 'result.quantum_id: must be 1..256 of [A-Za-z0-9_.-] (got "a/b")'],
    ["attempt 0", { attempt: 0 }, "result.attempt: must be at least 1 (got 0)"],
    ["attempt past the cap", { attempt: 1_000_000 }, "result.attempt: must be at most 100000"],
    ["outcome unset", { outcome: AttemptOutcome.UNSPECIFIED }, "result.outcome: must be an AttemptOutcome other than UNSPECIFIED"],
    ["outcome unknown", { outcome: 99 as AttemptOutcome }, "result.outcome: must be an AttemptOutcome other than UNSPECIFIED and CANCELLED (got 99)"],
    ["outcome cancelled (the coordinator's own)", { outcome: AttemptOutcome.CANCELLED }, "result.outcome: must be an AttemptOutcome other than UNSPECIFIED and CANCELLED (got 9)"],
    ["exit code below -1", { exitCode: -7 }, "result.exit_code: must be at least -1 (got -7)"],
    ["exit code over 255", { exitCode: 256 }, "result.exit_code: must be at most 255"],
    ["a huge message", { message: "x".repeat(70_000) }, "result.message: is 70000 characters, over the cap of 65536"],
    ["negative start", { startMs: -1n }, "result.start_ms: must be at least 0"],
    ["end before start", { endMs: 1_699_999_999_999n }, "result.end_ms: must not be before start_ms"],
    ["a duration over a year", { endMs: 1_700_000_000_000n + 400n * 86_400_000n }, "result.end_ms: must be within 365 days of start_ms"],
    ["an output without role", { outputs: [{ ...output, role: "" }] }, "result.outputs[0].role: must be an identifier"],
    ["an output with a bad DID", { outputs: [{ ...output, did: "nodid" }] }, "result.outputs[0].did: must be scope:name"],
    ["an output on a bad RSE", { outputs: [{ ...output, rse: "Site A" }] }, "result.outputs[0].rse: must be 1..64 of [a-z0-9-]"],
    ["an output of negative bytes", { outputs: [{ ...output, bytes: -1n }] }, "result.outputs[0].bytes: must be at least 0"],
    ["an output with a bad adler32", { outputs: [{ ...output, adler32: "XYZ" }] }, 'result.outputs[0].adler32: must be 8 lower-case hex digits (got "XYZ")'],
    ["an output with a bad md5", { outputs: [{ ...output, md5: "abc" }] }, "result.outputs[0].md5: must be 32 lower-case hex digits"],
    ["too many outputs", { outputs: Array.from({ length: 10_001 }, () => output) }, "result.outputs: has 10001 entries, over the cap of 10000"],
    ["a huge stdout tail", { stdoutTail: "x".repeat(65_537) }, "result.stdout_tail: is 65537 characters"],
    ["a huge stderr tail", { stderrTail: "x".repeat(65_537) }, "result.stderr_tail"],
    ["provenance that is not JSON", { provenanceJson: "{oops" }, "result.provenance_json: must be a JSON object"],
    ["provenance that is an array", { provenanceJson: "[1]" }, "result.provenance_json: must be a JSON object"],
    ["a peak RSS past 2^53", { peakRssBytes: 2n ** 63n }, "result.peak_rss_bytes: must be at most"],
  ];
  it.each(resultCases)("refuses a result with %s", (_, change, field) => {
    const r = refusalOf(parse({ msg: { case: "result", value: { ...result, ...change } } }));
    expect(r.reason).toBe("malformed_result");
    expect(r.error.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(r.error.message).toContain(field);
  });

  it("accepts the edges: exit code -1, empty provenance, zero disk, an agent id with dots and dashes", () => {
    expect(parse({ msg: { case: "result", value: { ...result, exitCode: -1, provenanceJson: "", outputs: [] } } }).ok).toBe(true);
    expect(parse({ msg: { case: "hello", value: { ...hello, diskMb: 0, agentId: "host.example-site-a-1234", prefetch: 0 } } }, false).ok).toBe(true);
    // Any name the catalog takes: spaces, ':' and non-ASCII letters are fine in a DID's name.
    expect(parse({ msg: { case: "heartbeat", value: { ...heartbeat, cacheAdded: ["hsc:raw/night 1/r:2.fits", "lsst:données/é.fits"] } } }).ok).toBe(true);
  });

  it("a lease of another agent is refused with PERMISSION_DENIED naming the field and the leases", () => {
    const r = foreignLeaseRefusal("heartbeat", "running", ["a#1", "b#1", "c#1", "d#1"]);
    expect(r.reason).toBe("foreign_lease");
    expect(r.error.code).toBe(ErrorCode.PERMISSION_DENIED);
    expect(r.error.message).toBe("heartbeat.running: lease a#1, b#1, c#1 and 1 more is held by another agent");
  });

  it("never throws on random bytes decoded as an agent message (seeded)", () => {
    let seed = 0x2545f491;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const valid = toBinary(AgentMessageSchema, create(AgentMessageSchema, { msg: { case: "result", value: result } }));
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      // Half mutate a valid result (deeper coverage), half are pure noise.
      const bytes = i % 2 === 0 ? Uint8Array.from(valid) : Uint8Array.from({ length: next() }, next);
      if (i % 2 === 0) bytes[((next() << 8) | next()) % bytes.length] = next();
      let msg;
      try {
        msg = fromBinary(AgentMessageSchema, bytes);
      } catch {
        continue; // not protobuf: grpc-js refuses it before us
      }
      decoded++;
      expect(() => parser.parse(msg, i % 3 !== 0)).not.toThrow();
    }
    expect(decoded).toBeGreaterThan(500);
  });

  it("shows only the start of what a junk string held", () => {
    const r = refusalOf(parse({ msg: { case: "hello", value: { ...hello, agentId: `${"x".repeat(200)} ` } } }, false));
    expect(r.error.message.length).toBeLessThan(200);
  });
});
