// The pre-staging case of the locality bench on a real local cluster
// (`npm run bench -- locality --cluster`): site-a holds every input and has
// one agent of 2 cores; site-b has three idle agents of 2 cores. The same
// campaign runs twice on its own copy of the data (so no cache helps the
// second): once with `prestage: false`, once with pre-staging on. Where each
// quantum ran and where its inputs came from are read from the provenance
// records (GetProvenance): a quantum at site-b whose inputs all came from
// site-b's RSE or the agent's cache ran on local data.
//
// It needs a dbb whose transfer workers copy what rules ask for. A probe
// rule on one file checks that first; without transfers the case is skipped
// and says so.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, messages, sleep } from "./bench-tools.mjs";

const { say } = messages("locality");
const RUN_S = 3;

function campaignYaml(name, scope, extra) {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    isr:
      command: [sh, -c, 'sleep ${RUN_S}; cp "$0" "$1"', "{inputs.raw}", "{outputs.out}"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {out: {datasetType: post}}
      resources: {cores: 1, memoryMB: 64, diskMB: 50}
data: {scope: ${scope}}
output: {scope: ${scope}-out, run: ${name}/run1}
${extra}
`;
}

/** Writes `n` files of `bytes` and ingests them at site-a-disk under `scope`. */
async function ingest(dir, scope, n, bytes) {
  const folder = join(dir, scope);
  mkdirSync(folder, { recursive: true });
  const lines = [];
  for (let d = 0; d < n; d++) {
    writeFileSync(join(folder, `raw_${d}.dat`), Buffer.alloc(bytes, `${scope} ${d} `));
    lines.push(JSON.stringify({ path: `raw_${d}.dat`, scope, datasetType: "raw", dataId: { detector: d } }));
  }
  writeFileSync(join(folder, "manifest.jsonl"), `${lines.join("\n")}\n`);
  await cli(["--cluster", join(dir, "cluster.json"), "dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(folder, "manifest.jsonl"), "--json"]);
}

/** Whether the dbb copies what a rule asks for: one file to site-b-disk within `waitMs`. */
async function transfersRun(dir, waitMs) {
  const c = ["--cluster", join(dir, "cluster.json")];
  await ingest(dir, "probe", 1, 1024);
  const rule = JSON.parse(await cli([...c, "dbb", "rule", "add", "probe:raw_0.dat", "--rse-expr", "site-b-disk", "--lifetime", "10m", "--json"]));
  for (const until = Date.now() + waitMs; Date.now() < until; await sleep(500)) {
    const shown = JSON.parse(await cli([...c, "dbb", "rule", "show", rule.id, "--json"]));
    if (shown.state === "OK") return true;
  }
  return false;
}

/** Runs one campaign to its end; where each quantum ran and read its inputs from. */
async function runCampaign(client, name, yaml, rseSite) {
  const t0 = Date.now();
  await client.submit({ specYaml: yaml, sourceName: `${name}.yaml` }, { timeoutMs: 120_000 });
  let st;
  // Campaign states are an enum on the wire.
  const { CampaignState } = await import("../../dist/gen/orrery/v1/common_pb.js");
  for (;;) {
    st = (await client.status({ campaign: name })).campaigns[0];
    if (st && st.state !== CampaignState.RUNNING && st.state !== CampaignState.PAUSED) break;
    await sleep(250);
  }
  if (st.state !== CampaignState.SUCCEEDED) throw new Error(`campaign ${name} ended ${CampaignState[st.state]}`);
  const out = { quanta: 0, at_b: 0, at_b_local: 0, remote_bytes: 0, makespan_s: ((Number(st.finishedMs) || Date.now()) - t0) / 1000 };
  for (const q of (await client.listQuanta({ campaign: name })).quanta) {
    const prov = JSON.parse((await client.getProvenance({ quantum: q.id, attempt: 0 })).provenanceJson);
    out.quanta++;
    let remote = 0;
    for (const input of prov.inputs ?? []) if (input.source !== "cache" && rseSite.get(input.source) !== prov.site) remote += input.bytes;
    out.remote_bytes += remote;
    if (prov.site === "site-b") {
      out.at_b++;
      if (remote === 0) out.at_b_local++;
    }
  }
  return out;
}

/** Runs the case; returns its figures (`prestage_cluster_*`), or why it was skipped. */
export async function runPrestageCluster({ quanta, keep, bytes = 4 << 20 }) {
  const [{ startCluster, stopCluster, addAgent }, { createUnaryClient }, { clientSecurity }, { CampaignService }] = await Promise.all([
    import("../../dist/common/local/cluster.js"),
    import("../../dist/common/grpc-service.js"),
    import("../../dist/common/grpc-security.js"),
    import("../../dist/gen/orrery/v1/coordinator_pb.js"),
  ]);
  const dir = mkdtempSync(join(tmpdir(), "orrery-bench-prestage-"));
  let client;
  try {
    say("pre-staging on a local cluster: site-a 1 agent × 2 cores with the data, site-b 3 idle agents × 2 cores");
    // Agents alternate between the sites: agent 1 at site-a, agent 2 at site-b, then two more at site-b.
    const cluster = await startCluster({ dir, sites: 2, agents: 2, agentCores: 2, agentPrefetch: 0, localityDelayMs: 30_000, prestageIntervalMs: 1000, softwareRoot: process.cwd(), onProgress: (m) => say(m) });
    for (let i = 0; i < 2; i++) await addAgent(dir, "site-b", false);
    if (!(await transfersRun(dir, 30_000))) {
      say("skipped: the dbb copied nothing for a rule in 30 s (no transfer workers on this build); the case needs them");
      return { prestage_cluster: "skipped: no transfer workers" };
    }
    const rses = JSON.parse(await cli(["--cluster", join(dir, "cluster.json"), "dbb", "rse", "list", "--json"]));
    const rseSite = new Map(rses.map((r) => [r.name, r.site]));
    say(`ingesting 2 × ${quanta} files of ${bytes} bytes at site-a (not timed)`);
    await ingest(dir, "psoff", quanta, bytes);
    await ingest(dir, "pson", quanta, bytes);
    client = createUnaryClient(CampaignService, cluster.coordinator, undefined, clientSecurity(cluster));
    say(`pre-staging off: ${quanta} quanta of ${RUN_S} s`);
    const off = await runCampaign(client, "prestage-off", campaignYaml("prestage-off", "psoff", "prestage: false"), rseSite);
    say(`pre-staging on: ${quanta} quanta of ${RUN_S} s`);
    const on = await runCampaign(client, "prestage-on", campaignYaml("prestage-on", "pson", ""), rseSite);
    const r = (x) => Math.round(x * 1000) / 1000;
    const figures = {
      prestage_cluster_quanta: quanta,
      prestage_cluster_at_b_local_on: r(on.at_b_local / on.quanta),
      prestage_cluster_at_b_local_off: r(off.at_b_local / off.quanta),
      prestage_cluster_remote_bytes_on: on.remote_bytes,
      prestage_cluster_remote_bytes_off: off.remote_bytes,
      prestage_cluster_makespan_on_s: r(on.makespan_s),
      prestage_cluster_makespan_off_s: r(off.makespan_s),
    };
    const pct = (x) => `${(100 * x).toFixed(1)} %`;
    console.log(`pre-staging on a local cluster: ${quanta} quanta of ${RUN_S} s on ${bytes}-byte inputs, data at site-a (2 cores), site-b idle (6 cores), locality delay 30 s`);
    console.log(`  ran at site-b on local data   on ${pct(figures.prestage_cluster_at_b_local_on)}   off ${pct(figures.prestage_cluster_at_b_local_off)}`);
    console.log(`  input bytes read remotely     on ${on.remote_bytes}   off ${off.remote_bytes}`);
    console.log(`  makespan                      on ${figures.prestage_cluster_makespan_on_s} s   off ${figures.prestage_cluster_makespan_off_s} s`);
    return figures;
  } finally {
    client?.close();
    await stopCluster(dir).catch(() => {});
    if (keep) say(`kept ${dir} (logs under logs/)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
