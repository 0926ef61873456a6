// The local cluster is closed by default: gRPC over TLS with a CA made by
// `local up`, and bearer tokens per role checked on every call. Each refusal
// is tried as a user (the real CLI) or an intruder (a plaintext client, an
// agent with a wrong token) would, against a real cluster.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { stopProcess } from "../src/common/local/child.js";
import { createUnaryClient } from "../src/common/grpc-service.js";
import { clientSecurity } from "../src/common/grpc-security.js";
import { ErrorCode, OrreryError } from "../src/common/errors.js";
import { CampaignService } from "../src/gen/orrery/v1/coordinator_pb.js";
import { tempDir } from "./harness.js";
import { ORRERY_BIN, orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

const WRONG_TOKEN = "wrong-token-that-must-never-be-logged";

/** The test's environment without any ORRERY_* variable, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("ORRERY_")) env[k] = v;
  return { ...env, ...extra };
}

function campaignYaml(name: string): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    check:
      command: [/bin/sh, -c, 'grep -qx "detector {dataId.detector}" "$0"', "{inputs.raw}"]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
data: {scope: sec-test}
output: {scope: sec-test-out, run: ${name}/run1}
`;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a closed local cluster: gRPC over TLS, bearer tokens per role", () => {
  let dir: string;
  let cluster: ClusterFile;
  let clusterFile: string;
  const coordinatorLog = () => readFileSync(join(dir, "logs", "coordinator.log"), "utf8");
  const operator = (args: string[], extra: Record<string, string> = {}) => orrery(["--cluster", clusterFile, ...args], { env: cleanEnv(extra) });

  beforeAll(async () => {
    dir = tempDir("grpcsec");
    cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 2 });
    clusterFile = join(dir, "cluster.json");
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes a CA and a coordinator certificate for 127.0.0.1 and localhost; keys, tokens and cluster.json are the owner's only", () => {
    const sec = cluster.security!;
    expect(sec.ca).toBe(join(dir, "tls", "ca.pem"));
    expect(sec.tokens.operator).toMatch(/^[\w-]{40,}$/);
    expect(sec.tokens.agent).toMatch(/^[\w-]{40,}$/);
    expect(sec.tokens.agent).not.toBe(sec.tokens.operator);
    for (const f of [clusterFile, join(dir, "tls", "ca-key.pem"), join(dir, "tls", "coordinator-key.pem")]) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    const cert = join(dir, "tls", "coordinator.pem");
    expect(execFileSync("openssl", ["verify", "-CAfile", sec.ca, cert], { encoding: "utf8" })).toContain("OK");
    const san = execFileSync("openssl", ["x509", "-in", cert, "-noout", "-ext", "subjectAltName"], { encoding: "utf8" });
    expect(san).toContain("IP Address:127.0.0.1");
    expect(san).toContain("DNS:localhost");
    // Secrets reach the processes by environment, never on their command lines.
    for (const p of cluster.processes) expect(JSON.stringify(p.args ?? [])).not.toContain(sec.tokens.agent);
  });

  it("lets the operator in with the cluster file's token", async () => {
    const agents = await orreryJson<{ id: string }[]>(["--cluster", clusterFile, "agents"], { env: cleanEnv() });
    expect(agents.map((a) => a.id)).toEqual(["agent-1-site-a"]);
  });

  it("refuses a CLI call without a token: exit 2, saying the token is missing", async () => {
    const r = await orrery(["agents"], { env: cleanEnv({ ORRERY_COORDINATOR: cluster.coordinator, ORRERY_NATS: cluster.nats, ORRERY_CA: cluster.security!.ca }) });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("no token: this coordinator requires a bearer token (set $ORRERY_TOKEN or use the cluster file)");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a wrong token ($ORRERY_TOKEN overrides the cluster file's): exit 2, logged by peer without the token", async () => {
    const r = await operator(["status"], { ORRERY_TOKEN: WRONG_TOKEN });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("the token was refused");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const log = coordinatorLog();
    expect(log).toMatch(/"peer":"127\.0\.0\.1:\d+".*CampaignService\/Status.*call refused: the token was refused/);
    expect(log).not.toContain(WRONG_TOKEN);
  });

  it("refuses the agent token on the campaign API: a campaign cannot be submitted with it", async () => {
    const file = join(dir, "by-agent.yaml");
    writeFileSync(file, campaignYaml("by-agent"));
    const r = await operator(["submit", file], { ORRERY_TOKEN: cluster.security!.tokens.agent });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("the agent token may not call orrery.v1.CampaignService/Submit");
    const status = await operator(["status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).not.toContain("by-agent");
  });

  it("refuses a plaintext client, even with the right token, and one that does not trust the CA", async () => {
    const token = cluster.security!.tokens.operator;
    const plain = createUnaryClient(CampaignService, cluster.coordinator, 3000, { token });
    try {
      const err = await plain.listAgents({}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(OrreryError);
      expect((err as OrreryError).code).toBe(ErrorCode.UNAVAILABLE);
    } finally {
      plain.close();
    }
    // The coordinator's own certificate is not a CA: a client trusting it instead is refused in the handshake.
    const wrongCa = createUnaryClient(CampaignService, cluster.coordinator, 3000, { token, caFile: join(dir, "tls", "coordinator.pem") });
    try {
      await expect(wrongCa.listAgents({})).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
    } finally {
      wrongCa.close();
    }
    // The coordinator is still serving.
    const ok = createUnaryClient(CampaignService, cluster.coordinator, 5000, clientSecurity(cluster));
    try {
      expect((await ok.listAgents({})).agents.length).toBe(1);
    } finally {
      ok.close();
    }
  });

  it("refuses an agent with a wrong token: it never appears in `orrery agents`", async () => {
    const work = join(dir, "intruder");
    const child = spawn(
      process.execPath,
      [ORRERY_BIN, "agent", "--id", "intruder", "--site", "site-a", "--cores", "1", "--memory", "256", "--coordinator", cluster.coordinator, "--nats", cluster.nats, "--work-dir", work, "--software-root", REPO_ROOT],
      {
        // The agent's own NATS user (what is refused here is the gRPC token only).
        env: cleanEnv({ ORRERY_CA: cluster.security!.ca, ORRERY_TOKEN: WRONG_TOKEN, ORRERY_NATS_USER: cluster.security!.nats!.agent.user, ORRERY_NATS_PASSWORD: cluster.security!.nats!.agent.password }), stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let output = "";
    for (const s of [child.stdout, child.stderr]) s.on("data", (d: Buffer) => (output += d.toString()));
    try {
      await until("the coordinator refusing the intruder's stream", () => /AgentLinkService\/Connect.*call refused: the token was refused/.test(coordinatorLog()));
      await until("the intruder saying its token was refused", () => output.includes("refused this agent's token"));
      const agents = await orreryJson<{ id: string }[]>(["--cluster", clusterFile, "agents"], { env: cleanEnv() });
      expect(agents.map((a) => a.id)).toEqual(["agent-1-site-a"]);
      expect(coordinatorLog()).not.toContain(WRONG_TOKEN);
    } finally {
      await stopProcess(child.pid!, 3000);
    }
  });

  it("runs a campaign end to end on the closed cluster, after a restart of the coordinator with the same certificate and tokens", async () => {
    const restarted = await orrery(["local", "restart", "coordinator", "--dir", dir], { env: cleanEnv() });
    expect(restarted.code, restarted.stderr).toBe(0);
    const input = join(dir, "input");
    execFileSync("mkdir", ["-p", input]);
    const lines: string[] = [];
    for (let d = 0; d < 4; d++) {
      writeFileSync(join(input, `raw_${d}.dat`), `detector ${d}\n`);
      lines.push(JSON.stringify({ path: `raw_${d}.dat`, scope: "sec-test", datasetType: "raw", dataId: { instrument: "HSC", detector: d } }));
    }
    writeFileSync(join(input, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const ingest = await operator(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(input, "manifest.jsonl")]);
    expect(ingest.code, ingest.stderr).toBe(0);
    const file = join(dir, "secured.yaml");
    writeFileSync(file, campaignYaml("secured"));
    const submit = await operator(["submit", file, "--wait"]);
    expect(submit.stderr + submit.stdout).toContain("SUCCEEDED");
    expect(submit.code).toBe(0);
    const quanta = await orreryJson<{ state: string; attempts: { agent: string }[] }[]>(["--cluster", clusterFile, "quanta", "secured"], { env: cleanEnv() });
    expect(quanta.map((q) => q.state)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    expect(new Set(quanta.flatMap((q) => q.attempts.map((a) => a.agent)))).toEqual(new Set(["agent-1-site-a"]));
  });
});
