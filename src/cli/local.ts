// `orrery local up|status|down|restart|preempt|agent add`: a whole cluster on this machine.
import type { Command } from "commander";
import { resolve } from "node:path";
import { addAgent, startCluster, stopCluster } from "../common/local/cluster.js";
import { readCluster } from "../common/local/cluster-store.js";
import { isAlive } from "../common/local/child.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { restartProcess } from "../common/local/restart.js";
import { preemptAgent } from "../common/local/preempt.js";
import { parseDuration } from "../common/duration.js";
import { printJson, printLine, printNotice, printTable } from "./output.js";
import { globalOptions } from "./global-options.js";
import type { ClusterFile } from "../common/local/cluster-file.js";

/** `--dir`, else the folder of --cluster/$ORRERY_CLUSTER, else .orrery. */
function clusterDir(cmd: Command, dir: string | undefined): string {
  if (dir !== undefined) return dir;
  const file = globalOptions(cmd).cluster ?? process.env["ORRERY_CLUSTER"];
  return file !== undefined ? resolve(file, "..") : ".orrery";
}

function count(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${name} must be a whole number ≥ ${min}, not "${value}"`);
  return n;
}

export function registerLocalCommands(program: Command): void {
  const local = program.command("local").description("a whole Orrery cluster on this machine, for trying it out and for tests");

  local
    .command("up")
    .description("start nats-server, redis-server, one S3 endpoint per site, the dbb, the coordinator and agents (and with --slurm a real Slurm for site-hpc)")
    .option("--dir <dir>", "where data, logs and cluster.json go (default .orrery)")
    .option("--sites <n>", "number of sites", "2")
    .option("--agents <n>", "number of agents, spread over the sites", "4")
    .option("--spot <n>", "how many of the agents are spot (preemptible) nodes", "0")
    .option("--slurm", "also a real Slurm under DIR/slurm (munged, slurmctld, slurmd; Debian's slurm-wlm and munge) and the site site-hpc (RSE site-hpc-disk), which has no static agents")
    .option("--insecure", "an open cluster: no TLS, no tokens, no NATS users, no Redis password, no S3 keys (only for measuring what security costs)")
    .action(async (opts: { dir?: string; sites: string; agents: string; spot: string; insecure?: boolean; slurm?: boolean }, cmd: Command) => {
      const dir = clusterDir(cmd, opts.dir);
      const cluster = await startCluster({
        dir,
        sites: count("--sites", opts.sites, 1),
        agents: count("--agents", opts.agents, 0),
        spot: count("--spot", opts.spot, 0),
        insecure: opts.insecure === true,
        slurm: opts.slurm === true,
        onProgress: (m) => printNotice(`local up: ${m}`),
      });
      if (globalOptions(cmd).json) {
        printJson(cluster);
        return;
      }
      printLine(`cluster up in ${cluster.dir}: ${cluster.sites.join(", ")}; coordinator ${cluster.coordinator}; nats ${cluster.nats}`);
      const dashboard = dashboardUrl(cluster);
      if (dashboard) printLine(`dashboard: ${dashboard} (status, /metrics and /healthz over HTTP)`);
      if (cluster.slurm) printLine(`slurm for site-hpc: export SLURM_CONF=${cluster.slurm.conf} to use sbatch, squeue, sinfo`);
      printLine(`${cluster.processes.filter((p) => p.role === "agent").length} agents; logs in ${cluster.dir}/logs; stop with \`orrery local down\``);
      printLine(
        cluster.security
          ? `closed: gRPC over TLS (CA ${cluster.security.ca}), tokens in ${cluster.dir}/cluster.json (commands run here use it; elsewhere export ORRERY_TOKEN and ORRERY_CA)`
          : "OPEN (--insecure): no TLS and no tokens; anyone on this machine can use it",
      );
    });

  local
    .command("status")
    .description("the processes of the local cluster and whether they are alive")
    .option("--dir <dir>", "cluster folder (default .orrery)")
    .action((opts: { dir?: string }, cmd: Command) => {
      const dir = clusterDir(cmd, opts.dir);
      const cluster = readCluster(dir);
      if (!cluster) throw new OrreryError(ErrorCode.UNAVAILABLE, `no local cluster in ${resolve(dir)}`, { hint: "start one with `orrery local up`" });
      const processes = cluster.processes.map((p) => ({ name: p.name, role: p.role, site: p.site ?? "", pid: p.pid, alive: isAlive(p.pid), address: p.address, metrics: p.metrics ? `http://${p.metrics}/metrics` : null }));
      const dashboard = dashboardUrl(cluster);
      if (globalOptions(cmd).json) {
        printJson({ processes, dashboard });
        return;
      }
      printTable(processes, [
        { header: "NAME", value: (p) => p.name },
        { header: "ROLE", value: (p) => p.role },
        { header: "SITE", value: (p) => p.site },
        { header: "PID", value: (p) => p.pid, align: "right" },
        { header: "ALIVE", value: (p) => (p.alive ? "yes" : "NO") },
        { header: "ADDRESS", value: (p) => p.address },
      ]);
      if (dashboard) printLine(`dashboard: ${dashboard}`);
    });

  local
    .command("down")
    .description("stop every process of the local cluster (data and logs stay)")
    .option("--dir <dir>", "cluster folder (default .orrery)")
    .action(async (opts: { dir?: string }, cmd: Command) => {
      const dir = clusterDir(cmd, opts.dir);
      const cluster = await stopCluster(dir);
      if (globalOptions(cmd).json) printJson({ stopped: cluster?.processes.length ?? 0 });
      else printLine(cluster ? `stopped ${cluster.processes.length} processes of ${cluster.dir}` : `no local cluster in ${resolve(dir)}`);
    });

  local
    .command("restart <name>")
    .description("start again a process of the local cluster that died (stopped first if alive), same address and data: coordinator, dbb, nats, redis, s3-SITE, metadata, an agent id, or munge, slurmctld, slurmd")
    .option("--dir <dir>", "cluster folder (default .orrery)")
    .action(async (name: string, opts: { dir?: string }, cmd: Command) => {
      const proc = await restartProcess(clusterDir(cmd, opts.dir), name);
      if (globalOptions(cmd).json) printJson({ name: proc.name, role: proc.role, pid: proc.pid, address: proc.address });
      else printLine(`${proc.name} restarted (pid ${proc.pid}) at ${proc.address}`);
    });

  local
    .command("preempt <agent>")
    .description("post a spot agent's preemption notice on its instance-metadata endpoint (EC2 style); the agent stops taking work, reports its running quanta preempted and exits")
    .option("--dir <dir>", "cluster folder (default .orrery)")
    .option("--in <duration>", "when the node is reclaimed, from now (the notice's time; the agent acts at once)", "2m")
    .action((agent: string, opts: { dir?: string; in: string }, cmd: Command) => {
      const notice = preemptAgent(clusterDir(cmd, opts.dir), agent, parseDuration(opts.in, "--in") * 1000);
      if (globalOptions(cmd).json) printJson(notice);
      else {
        printLine(`preemption notice posted for ${notice.agent}: ${notice.action} at ${notice.time}`);
        if (!notice.served) printNotice("the instance-metadata service is not running: the agent sees the notice once `orrery local restart metadata` brings it back");
      }
    });

  local
    .command("agent")
    .description("agents of the local cluster")
    .command("add")
    .description("start one more agent in the running local cluster")
    .option("--dir <dir>", "cluster folder (default .orrery)")
    .option("--site <site>", "its site (default the first)")
    .option("--spot", "a spot (preemptible) node")
    .action(async (opts: { dir?: string; site?: string; spot?: boolean }, cmd: Command) => {
      const proc = await addAgent(clusterDir(cmd, opts.dir), opts.site, opts.spot === true);
      if (globalOptions(cmd).json) printJson(proc);
      else printLine(`agent ${proc.name} started at ${proc.site ?? ""} (pid ${proc.pid})`);
    });
}

/** The coordinator's web page; on a closed cluster the operator token rides in the fragment (never sent to a server or logged). */
export function dashboardUrl(cluster: ClusterFile): string | null {
  if (cluster.http === undefined) return null;
  const token = cluster.security?.tokens.operator;
  return `http://${cluster.http}/${token ? `#token=${encodeURIComponent(token)}` : ""}`;
}
