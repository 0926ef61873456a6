// `orrery agent`: the node agent as its own process, one per node. SIGTERM or
// SIGINT (spot preemption, node drain) reports running quanta as preempted
// and exits 0.
import { availableParallelism, hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { runAgent, watchSpotNotice, type AgentOptions, type NodeKind } from "../agent/index.js";
import { parseDuration } from "../common/duration.js";
import { createLogger } from "../common/logger.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { resolveConnection } from "./connection.js";
import { clientSecurity } from "../common/grpc-security.js";
import type { ClusterFile } from "../common/local/cluster-file.js";
import { printNotice } from "./output.js";

interface AgentFlags {
  site: string;
  kind: string;
  cores?: string;
  memory: string;
  disk: string;
  cacheDir?: string;
  cacheSize: string;
  workDir?: string;
  softwareRoot?: string;
  id?: string;
  coordinator?: string;
  nats?: string;
  spotNoticeUrl?: string;
  spotNoticeInterval: string;
  prefetch: string;
  walltime?: string;
  batchJob?: string;
  idleExit?: string;
  metrics?: string;
}

const KINDS: readonly NodeKind[] = ["hpc", "spot", "static"];
/** One node's worth of leases waiting: a freed core starts the next quantum at once. */
const DEFAULT_PREFETCH = 1;

function nonNegative(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} must be a whole number, 0 or more, not "${value}"`);
  }
  return n;
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} must be a positive whole number, not "${value}"`);
  }
  return n;
}

/** A pilot's limits: its walltime counts from this process's start (the batch job started it; node's own start-up counts too). */
function pilotOptions(flags: AgentFlags): NonNullable<AgentOptions["pilot"]> {
  const pilot: NonNullable<AgentOptions["pilot"]> = {};
  if (flags.walltime !== undefined) {
    const s = parseDuration(flags.walltime, "--walltime");
    if (s <= 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--walltime must be longer than 0, not "${flags.walltime}"`);
    pilot.walltimeEndMs = Math.floor(Date.now() - process.uptime() * 1000 + s * 1000);
  }
  if (flags.idleExit !== undefined) pilot.idleExitMs = parseDuration(flags.idleExit, "--idle-exit") * 1000;
  const job = flags.batchJob ?? process.env["SLURM_JOB_ID"];
  if (job !== undefined && job !== "") {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(job)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--batch-job must be 1..64 of [A-Za-z0-9_.:-], not "${job}"`);
    pilot.batchJob = job;
  }
  return pilot;
}

export function registerAgentCommand(program: Command): void {
  program
    .command("agent")
    .description("run a node agent: pulls quanta from the coordinator, caches inputs in LMDB, runs payloads, stores outputs at its site")
    .requiredOption("--site <site>", "the site this node belongs to")
    .option("--kind <kind>", "node kind: hpc, spot or static", "hpc")
    .option("--cores <n>", "cores to offer (default: all of this machine's)")
    .option("--memory <mb>", "memory to offer, in MB", "4096")
    .option("--disk <mb>", "scratch disk to offer, in MB", "10000")
    .option("--prefetch <n>", "leases to keep waiting beyond the free capacity, in multiples of the node's capacity (0: none)", String(DEFAULT_PREFETCH))
    .option("--cache-dir <dir>", "LMDB cache and journal (default <work-dir>/cache)")
    .option("--cache-size <bytes>", "cache budget in bytes", String(1024 ** 3))
    .option("--work-dir <dir>", "scratch directories of running quanta (default ./.orrery/agents/<id>; a pilot's ./pilot-<batch job>)")
    .option("--software-root <dir>", "where relative program paths of task commands resolve (default: the current directory)")
    .option("--id <id>", "agent id, stable across restarts to resume from the journal (default <host>-<site>-<pid>)")
    .option("--coordinator <host:port>", "coordinator address (default $ORRERY_COORDINATOR, else the cluster file)")
    .option("--nats <url>", "NATS URL (default $ORRERY_NATS, else the cluster file)")
    .option("--walltime <duration>", "a pilot's walltime (90s, 30m, 12h): it takes no quantum that would outlast it and leaves before it ends")
    .option("--batch-job <id>", "a pilot's batch job id, shown by `orrery agents` (default $SLURM_JOB_ID)")
    .option("--idle-exit <duration>", "leave after this long with no work (a pilot gives its slot back; default: never)")
    .option("--spot-notice-url <url>", "EC2-style spot instance-action URL to poll, IMDSv2 token from ../../api/token (default $ORRERY_SPOT_NOTICE_URL; none: only SIGTERM)")
    .option("--spot-notice-interval <duration>", "how often to poll the spot notice", "5s")
    .option("--metrics <host:port>", "serve Prometheus /metrics and /healthz over HTTP here (default $ORRERY_METRICS; none: no HTTP)")
    .addHelpText("after", "\nA closed coordinator: $ORRERY_CA (PEM of its CA: the link uses TLS) and $ORRERY_TOKEN (the agent token),\nelse the cluster file's CA and agent token.")
    .action(async (flags: AgentFlags, cmd: Command) => {
      if (!KINDS.includes(flags.kind as NodeKind)) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--kind must be one of ${KINDS.join(", ")}, not "${flags.kind}"`);
      }
      const noticeIntervalMs = parseDuration(flags.spotNoticeInterval, "--spot-notice-interval") * 1000;
      let coordinator = flags.coordinator ?? process.env["ORRERY_COORDINATOR"];
      let natsUrl = flags.nats ?? process.env["ORRERY_NATS"];
      let cluster: ClusterFile | undefined;
      if (coordinator === undefined || natsUrl === undefined) {
        const conn = resolveConnection(cmd.optsWithGlobals<{ cluster?: string }>());
        coordinator ??= conn.coordinator;
        natsUrl ??= conn.natsUrl;
        cluster = conn.cluster;
      }
      // The CA and the agent token: $ORRERY_CA and $ORRERY_TOKEN (as `local up` gives them), else the cluster file's.
      const security = clientSecurity(cluster, "agent");
      const pilot = pilotOptions(flags);
      const agentId = flags.id ?? (pilot.batchJob !== undefined ? `pilot-${flags.site}-${pilot.batchJob}` : `${hostname()}-${flags.site}-${process.pid}`);
      // A pilot works in its batch job's folder (the factory's work dir), one per job.
      const workDir = resolve(flags.workDir ?? (pilot.batchJob !== undefined ? `pilot-${pilot.batchJob}` : join(".orrery", "agents", agentId)));
      const metricsListen = flags.metrics ?? (process.env["ORRERY_METRICS"] || undefined);
      const handle = await runAgent({
        agentId,
        coordinator,
        natsUrl,
        site: flags.site,
        kind: flags.kind as NodeKind,
        cores: flags.cores === undefined ? availableParallelism() : positive("--cores", flags.cores),
        memoryMB: positive("--memory", flags.memory),
        diskMB: positive("--disk", flags.disk),
        cacheDir: resolve(flags.cacheDir ?? join(workDir, "cache")),
        cacheSizeBytes: positive("--cache-size", flags.cacheSize),
        workDir,
        softwareRoot: resolve(flags.softwareRoot ?? process.cwd()),
        prefetch: nonNegative("--prefetch", flags.prefetch),
        security,
        pilot,
        ...(metricsListen !== undefined ? { metricsListen } : {}),
      });
      printNotice(`agent ${agentId} (${flags.kind}, site ${flags.site}) connecting to the coordinator at ${coordinator}`);
      const onSignal = (sig: NodeJS.Signals) => {
        printNotice(`agent ${agentId}: ${sig}, reporting running quanta as preempted and stopping`);
        handle.stop(`the agent received ${sig}`).catch((err: unknown) => printNotice(`agent ${agentId}: stopping failed: ${err instanceof Error ? err.message : String(err)}`));
      };
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
      const noticeUrl = flags.spotNoticeUrl ?? process.env["ORRERY_SPOT_NOTICE_URL"];
      const watch = noticeUrl
        ? watchSpotNotice({
            url: noticeUrl,
            intervalMs: noticeIntervalMs,
            log: createLogger("agent", { agentId }),
            onNotice: (n) => {
              printNotice(`agent ${agentId}: spot notice (${n.action} ${n.time}), reporting running quanta as preempted and stopping`);
              handle.stop(`spot notice: ${n.action} at ${n.time}`).catch((err: unknown) => printNotice(`agent ${agentId}: stopping failed: ${err instanceof Error ? err.message : String(err)}`));
            },
          })
        : undefined;
      await handle.done;
      watch?.stop();
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      // How it ended, for whoever supervises the node (a spot agent must leave with 0).
      process.once("exit", (code) => printNotice(`agent ${agentId}: stopped, exit code ${code}`));
      // Sockets of pooled S3 clients may linger; the agent's work is done and journaled.
      setTimeout(() => process.exit(0), 1000).unref();
    });
}
