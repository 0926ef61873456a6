// An agent is untrusted: a hand-written gRPC client speaks to a real
// coordinator with a malformed Hello, junk in a heartbeat and a result for a
// lease another agent holds. Each stream is closed with a status naming the
// field, and the coordinator keeps serving the cluster's well-behaved agent.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { grpcServiceDefinition } from "../src/common/grpc-service.js";
import { callMetadata, channelSecurity, clientSecurity } from "../src/common/grpc-security.js";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { AgentLinkService, AgentMessageSchema, type CoordinatorMessage } from "../src/gen/orrery/v1/agent_link_pb.js";
import { AttemptOutcome, NodeKind } from "../src/gen/orrery/v1/common_pb.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

type AgentMessageInit = MessageInitShape<typeof AgentMessageSchema>;
type Stream = grpc.ClientDuplexStream<unknown, CoordinatorMessage>;
interface Closed {
  welcomed: boolean;
  code: grpc.status;
  details: string;
}
interface QuantumJson {
  id: string;
  state: string;
  attempts: { agent: string; outcome: string }[];
}

const hello = (agentId: string): AgentMessageInit => ({
  msg: { case: "hello", value: { agentId, site: "site-a", kind: NodeKind.HPC, cores: 2, memoryMb: 1024, diskMb: 100, host: "intruder", prefetch: 0 } },
});

describe("agent messages are validated at the edge of a real coordinator", () => {
  let dir: string;
  let cluster: ClusterFile;
  let client: grpc.Client & { connect(metadata: grpc.Metadata): Stream };
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  /** Opens a stream, sends the messages (after Welcome when the first is a Hello), and waits for the coordinator to close it. */
  function exchange(messages: AgentMessageInit[]): Promise<Closed> {
    return new Promise((resolve, reject) => {
      // The cluster is closed: the hand-written agent holds the agent token, as a real one does.
      const stream = client.connect(callMetadata(clientSecurity(cluster, "agent")));
      let welcomed = false;
      const timer = setTimeout(() => {
        stream.cancel();
        reject(new Error("the coordinator did not close the stream"));
      }, 10_000);
      const [first, ...rest] = messages;
      stream.on("data", (m: CoordinatorMessage) => {
        if (m.msg.case !== "welcome" || welcomed) return;
        welcomed = true;
        for (const msg of rest) stream.write(create(AgentMessageSchema, msg));
      });
      // The status ends the call either way: an error status comes as 'error', then 'status'.
      stream.on("error", () => {});
      stream.on("status", (s: grpc.StatusObject) => {
        clearTimeout(timer);
        resolve({ welcomed, code: s.code, details: s.details });
      });
      stream.write(create(AgentMessageSchema, first!));
    });
  }

  beforeAll(async () => {
    dir = tempDir("agentmsg");
    cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 1, heartbeatMs: 500, leaseTtlMs: 5000 });
    const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(AgentLinkService), AgentLinkService.typeName);
    const channel = channelSecurity(clientSecurity(cluster, "agent"), cluster.coordinator);
    client = new Ctor(cluster.coordinator, channel.credentials, channel.options) as unknown as grpc.Client & { connect(metadata: grpc.Metadata): Stream };
    writeFileSync(join(dir, "in_1.dat"), "input 1\n".repeat(100));
    const ingest = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, "in_1.dat"), "--scope", "am", "--dataset-type", "frame", "--data-id", "instrument=X"]);
    expect(ingest.code, ingest.stderr).toBe(0);
  });

  afterAll(async () => {
    client?.close();
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("closes a stream whose Hello is malformed, naming the field", async () => {
    const bad = hello("intruder-hello");
    if (bad.msg?.case === "hello") bad.msg.value = { ...bad.msg.value, cores: 0 };
    const closed = await exchange([bad]);
    expect(closed).toMatchObject({ welcomed: false, code: grpc.status.INVALID_ARGUMENT });
    expect(closed.details).toBe("hello.cores: must be at least 1 (got 0)");
    const junkId = await exchange([hello("not an id")]);
    expect(junkId.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(junkId.details).toContain("hello.agent_id: must be 1..128 of");
  });

  it("closes a stream whose heartbeat holds junk, or whose message is unknown", async () => {
    const junk = await exchange([hello("intruder-hb"), { msg: { case: "heartbeat", value: { running: ["rm -rf /"], cacheBytes: -1n } } }]);
    expect(junk).toMatchObject({ welcomed: true, code: grpc.status.INVALID_ARGUMENT });
    expect(junk.details).toBe('heartbeat.running[0]: must be lease ids (quantum_id#attempt) (got "rm -rf /")');
    const unknown = await exchange([hello("intruder-unknown"), {}]);
    expect(unknown).toMatchObject({ welcomed: true, code: grpc.status.INVALID_ARGUMENT });
    expect(unknown.details).toContain("agent message: not a Hello");
    const first = await exchange([{ msg: { case: "credit", value: { freeCores: 1 } } }]);
    expect(first.details).toBe("credit: the first message on the agent link must be Hello");
  });

  it("refuses results and heartbeats for a lease another agent holds, and the campaign still succeeds", async () => {
    const file = join(dir, "held.yaml");
    writeFileSync(
      file,
      `apiVersion: orrery/v1
kind: Campaign
name: held
pipeline:
  tasks:
    slow:
      command: [node, test/fixtures/payloads/copy-after.mjs, "3", "{inputs.frame}", "{outputs.copy}"]
      dimensions: [instrument]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: am}
output: {scope: am-out, run: held/run1}
`,
    );
    const submit = await cli(["submit", file]);
    expect(submit.code, submit.stderr).toBe(0);
    let running: QuantumJson | undefined;
    for (let i = 0; i < 100 && running === undefined; i++) {
      const [q] = await json<QuantumJson[]>(["quanta", "held"]);
      if (q?.state === "RUNNING") running = q;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toBeDefined();
    const q = running!;
    const attempt = q.attempts.length;
    const leaseId = `${q.id}#${attempt}`;

    const forged = { leaseId, quantumId: q.id, attempt, outcome: AttemptOutcome.PAYLOAD_ERROR, exitCode: 1, message: "forged", startMs: 1n, endMs: 2n };
    const result = await exchange([hello("intruder-result"), { msg: { case: "result", value: forged } }]);
    expect(result).toMatchObject({ welcomed: true, code: grpc.status.PERMISSION_DENIED });
    expect(result.details).toBe(`result.lease_id: lease ${leaseId} is held by another agent`);
    const progress = await exchange([hello("intruder-progress"), { msg: { case: "heartbeat", value: { running: [leaseId] } } }]);
    expect(progress).toMatchObject({ welcomed: true, code: grpc.status.PERMISSION_DENIED });
    expect(progress.details).toBe(`heartbeat.running: lease ${leaseId} is held by another agent`);

    // The well-behaved agent was served throughout: its one attempt is the only one, and it succeeded.
    const done = await cli(["status", "held", "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    const [after] = await json<QuantumJson[]>(["quanta", "held"]);
    expect(after!.state).toBe("SUCCEEDED");
    expect(after!.attempts).toHaveLength(attempt);
    expect(after!.attempts[attempt - 1]).toMatchObject({ agent: q.attempts[attempt - 1]!.agent, outcome: "succeeded" });

    // Every refusal was logged with its reason and the running count of that reason.
    const log = readFileSync(join(dir, "logs", "coordinator.log"), "utf8");
    const refusals = log.split("\n").filter((l) => l.includes("agent message refused"));
    const reasons = refusals.map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons.sort()).toEqual(["foreign_lease", "foreign_lease", "hello_missing", "malformed_heartbeat", "malformed_hello", "malformed_hello", "unknown_message"]);
    expect(refusals.some((l) => l.includes('"reason":"malformed_hello","count":2'))).toBe(true);
    // States travel as enums; the CLI names them, and refuses a name that is none.
    const bogus = await cli(["quanta", "held", "--state", "bogus"]);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('--state "bogus" is not a quantum state');
    expect((await json<QuantumJson[]>(["quanta", "held", "--state", "succeeded"])).map((x) => x.state)).toEqual(["SUCCEEDED"]);
    const agents = await json<{ id: string; kind: string }[]>(["agents"]);
    expect(agents.map((a) => a.kind)).toEqual(["hpc"]);
    expect(agents.map((a) => a.id)).not.toContain("intruder-result");
  });
});
