// A real Slurm for `orrery local up --slurm`: munged (own key and socket),
// slurmctld and slurmd (one node, one partition), all under DIR/slurm with
// logs in DIR/logs, on random ports, touching no system-wide file, so several
// clusters can run on one machine side by side. Runs as root: SlurmUser=root.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readlinkSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { ErrorCode, OrreryError } from "../errors.js";
import { baseSlurmEnv, slurmCommand } from "../slurm-command.js";
import { isAlive, startService, stopProcess } from "./child.js";
import type { ClusterFile, ClusterProcess } from "./cluster-file.js";
import { findBinary } from "./binaries.js";
import { freePort } from "./ports.js";

/** The HPC site of a local cluster with Slurm, its one node and partition. */
export const SLURM_SITE = "site-hpc";
export const SLURM_NODE = "hpc1";
export const SLURM_PARTITION = "hpc";

export type SlurmRole = "munge" | "slurmctld" | "slurmd";
export const SLURM_ROLES: readonly SlurmRole[] = ["munge", "slurmctld", "slurmd"];

/** The daemon a cluster process of role "slurm" is, by its name. */
export function slurmRoleOf(name: string): SlurmRole {
  const role = SLURM_ROLES.find((r) => r === name);
  if (role === undefined) throw new Error(`not a Slurm daemon: ${name}`);
  return role;
}

export interface SlurmOptions {
  /** CPUs the node advertises (may exceed the machine's: config_overrides). */
  cpus?: number;
  realMemoryMB?: number;
}

export interface SlurmPaths {
  root: string;
  conf: string;
  mungeKey: string;
  mungeSocket: string;
  logDir: string;
}

export function slurmPaths(dir: string): SlurmPaths {
  const root = join(resolve(dir), "slurm");
  return {
    root,
    conf: join(root, "slurm.conf"),
    mungeKey: join(root, "munge", "munge.key"),
    mungeSocket: join(root, "run", "munge.sock"),
    logDir: join(resolve(dir), "logs"),
  };
}

/** Starts munged, slurmctld and slurmd in turn, each once ready; on failure stops those started. */
export async function startSlurm(dir: string, opts: SlurmOptions = {}): Promise<{ conf: string; processes: ClusterProcess[] }> {
  const paths = slurmPaths(dir);
  await writeSlurmFiles(paths, opts);
  const processes: ClusterProcess[] = [];
  try {
    for (const role of SLURM_ROLES) processes.push(await startSlurmDaemon(dir, role));
  } catch (err) {
    for (const p of processes.reverse()) await stopProcess(p.pid, 5000);
    throw err;
  }
  return { conf: paths.conf, processes };
}

/** One of the daemons, (re)started on the files `startSlurm` wrote: the same key, socket, ports and state. */
export async function startSlurmDaemon(dir: string, role: SlurmRole): Promise<ClusterProcess> {
  const paths = slurmPaths(dir);
  const conf = readFileSync(paths.conf, "utf8");
  const env = { ...baseSlurmEnv(), SLURM_CONF: paths.conf };
  const log = join(paths.logDir, `${role}.log`);
  const common = { name: role, logFile: log, env, cwd: paths.root, timeoutMs: 30_000 };
  if (role === "munge") {
    const m = join(paths.root, "munge");
    // -F: in the foreground, so its pid is ours to stop and its log goes to ours.
    const args = ["-F", "-f", "-S", paths.mungeSocket, "--key-file", paths.mungeKey, "--pid-file", join(m, "munged.pid"), "--seed-file", join(m, "munged.seed"), "--log-file", log];
    const svc = await startService({ ...common, command: findBinary("munged"), args, readiness: { kind: "probe", probe: () => unixSocketProbe(paths.mungeSocket) } });
    return { name: role, role: "slurm", site: SLURM_SITE, pid: svc.pid, address: paths.mungeSocket, log };
  }
  if (role === "slurmctld") {
    // -i: a state file left half-written by a kill is skipped, not fatal.
    const svc = await startService({ ...common, command: findBinary("slurmctld"), args: ["-D", "-i", "-f", paths.conf], readiness: { kind: "probe", probe: () => controllerUp(paths.conf) } });
    return { name: role, role: "slurm", site: SLURM_SITE, pid: svc.pid, address: `127.0.0.1:${confValue(conf, "SlurmctldPort")}`, log };
  }
  // slurmd logs to SlurmdLogFile (its job steps' slurmstepd too); its stderr repeats it in slurmd.out.
  const svc = await startService({
    ...common,
    logFile: join(paths.logDir, "slurmd.out"),
    command: findBinary("slurmd"),
    args: ["-D", "-N", SLURM_NODE, "-f", paths.conf],
    readiness: { kind: "probe", probe: () => nodeUp(paths.conf) },
  });
  return { name: role, role: "slurm", site: SLURM_SITE, pid: svc.pid, address: `127.0.0.1:${confValue(conf, "SlurmdPort")}`, log };
}

/**
 * Stops the cluster's Slurm: its jobs cancelled while slurmctld still runs
 * (their slurmstepd would outlive slurmd otherwise), then slurmd, slurmctld
 * and munged; any job step left (slurmctld was dead) is killed with its processes.
 */
export async function stopSlurm(cluster: ClusterFile): Promise<void> {
  const of = (name: SlurmRole) => cluster.processes.filter((p) => p.role === "slurm" && p.name === name);
  const conf = cluster.slurm?.conf;
  if (conf !== undefined && of("slurmctld").some((p) => isAlive(p.pid))) await cancelAllJobs(conf).catch(() => undefined);
  for (const p of of("slurmd")) await stopProcess(p.pid, 5000);
  killJobSteps(cluster.dir);
  for (const role of ["slurmctld", "munge"] as const) for (const p of of(role)) await stopProcess(p.pid, 5000);
}

/** The pids of slurmstepd processes of this cluster: they hold its slurmd log open. */
export function slurmJobSteps(dir: string): number[] {
  const log = join(slurmPaths(dir).logDir, "slurmd.log");
  const found: number[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("slurmstepd")) continue;
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => safeReadlink(`/proc/${pid}/fd/${fd}`) === log)) found.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function cancelAllJobs(conf: string): Promise<void> {
  const ids = () => slurmCommand("squeue", ["-h", "-o", "%i"], { conf, timeoutMs: 5000 }).then((out) => out.split("\n").map((l) => l.trim()).filter((l) => /^\d+$/.test(l)));
  const queued = await ids();
  if (queued.length === 0) return;
  await slurmCommand("scancel", queued, { conf, timeoutMs: 5000 }).catch(() => undefined);
  // Until the job steps are gone (KillWait is 5 s), so nothing of a job outlives slurmd.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await ids()).length > 0) await new Promise((r) => setTimeout(r, 200));
}

/** Each left-over slurmstepd's session (it and the job's processes) killed. */
function killJobSteps(dir: string): void {
  for (const stepd of slurmJobSteps(dir)) {
    const sid = sessionOf(stepd);
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number)) {
      if (pid === stepd || (sid !== undefined && sessionOf(pid) === sid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  }
}

function sessionOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
  } catch {
    return undefined;
  }
}

function safeReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

async function writeSlurmFiles(paths: SlurmPaths, opts: SlurmOptions): Promise<void> {
  // Unix sockets (munged's, slurmstepd's in the spool dir) are limited to 108 bytes.
  if (paths.mungeSocket.length > 100) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `the cluster dir's path is too long for Slurm's sockets (${paths.mungeSocket})`, { hint: "use a shorter --dir" });
  }
  for (const [sub, mode] of [["munge", 0o700], ["run", 0o755], ["state", 0o700], ["spool", 0o700]] as const) mkdirSync(join(paths.root, sub), { recursive: true, mode });
  mkdirSync(paths.logDir, { recursive: true });
  if (!existsSync(paths.mungeKey)) writeFileSync(paths.mungeKey, randomBytes(1024), { mode: 0o400 });
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  writeFileSync(paths.conf, slurmConf(paths, { ctldPort, slurmdPort, cpus: opts.cpus ?? 4, realMemoryMB: opts.realMemoryMB ?? 8192 }), { mode: 0o644 });
}

/** slurm.conf of the local cluster: munge on our socket, no cgroups, no accounting, finished jobs forgotten after 5 s. */
export function slurmConf(paths: SlurmPaths, o: { ctldPort: number; slurmdPort: number; cpus: number; realMemoryMB: number }): string {
  const host = hostname().split(".")[0] ?? "localhost";
  return `${[
    "ClusterName=orrery",
    // slurmctld only runs where SlurmctldHost names this machine.
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${o.ctldPort}`,
    `SlurmdPort=${o.slurmdPort}`,
    "SlurmUser=root",
    "SlurmdUser=root",
    "AuthType=auth/munge",
    `AuthInfo=socket=${paths.mungeSocket}`,
    "CredType=cred/munge",
    "ProctrackType=proctrack/linuxproc",
    "TaskPlugin=task/none",
    "JobAcctGatherType=jobacct_gather/none",
    "AccountingStorageType=accounting_storage/none",
    "MpiDefault=none",
    "SwitchType=switch/none",
    "SchedulerType=sched/backfill",
    "SelectType=select/cons_tres",
    "SelectTypeParameters=CR_Core_Memory",
    // Else a job without --mem is given the whole node's memory and runs alone.
    "DefMemPerCPU=512",
    "MailProg=/bin/true",
    `StateSaveLocation=${join(paths.root, "state")}`,
    `SlurmdSpoolDir=${join(paths.root, "spool")}`,
    `SlurmctldPidFile=${join(paths.root, "slurmctld.pid")}`,
    `SlurmdPidFile=${join(paths.root, "slurmd.pid")}`,
    `SlurmdLogFile=${join(paths.logDir, "slurmd.log")}`,
    "ReturnToService=2",
    "MinJobAge=5",
    "KillWait=5",
    "SlurmdParameters=config_overrides",
    `NodeName=${SLURM_NODE} NodeAddr=127.0.0.1 NodeHostname=${host} CPUs=${o.cpus} RealMemory=${o.realMemoryMB} State=UNKNOWN`,
    `PartitionName=${SLURM_PARTITION} Nodes=${SLURM_NODE} Default=YES MaxTime=INFINITE State=UP`,
  ].join("\n")}\n`;
}

function confValue(conf: string, key: string): string {
  return new RegExp(`^${key}=(\\S+)`, "m").exec(conf)?.[1] ?? "";
}

function unixSocketProbe(path: string): Promise<boolean> {
  return new Promise((done) => {
    const sock = connect({ path });
    sock.once("connect", () => {
      sock.destroy();
      done(true);
    });
    sock.once("error", () => done(false));
  });
}

async function controllerUp(conf: string): Promise<boolean> {
  return (await slurmCommand("scontrol", ["ping"], { conf, timeoutMs: 5000 })).includes("is UP");
}

/** The node registered and usable (a state with `*` is not responding; `down`/`drain` are not usable). */
async function nodeUp(conf: string): Promise<boolean> {
  const state = (await slurmCommand("sinfo", ["-h", "-N", "-n", SLURM_NODE, "-o", "%T"], { conf, timeoutMs: 5000 })).trim();
  return /^(idle|mixed|allocated|completing)$/.test(state);
}
