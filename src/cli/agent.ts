// `orrery agent`: the node agent as its own process, one per node. SIGTERM or
// SIGINT (spot preemption, node drain) reports running quanta as preempted
// and exits 0.
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { runAgent, watchSpotNotice, type AgentOptions } from "../agent/index.js";
import { AGENT_DEFAULTS, AGENT_SETTINGS, addSettingOptions, resolveSettings } from "../common/settings/index.js";
import { createLogger } from "../common/logger.js";
import { resolveConnection } from "./connection.js";
import { clientSecurity } from "../common/grpc-security.js";
import type { ClusterFile } from "../common/local/cluster-file.js";
import { printNotice } from "./output.js";

/** A pilot's limits: its walltime counts from this process's start (the batch job started it; node's own start-up counts too). */
function pilotOptions(s: AgentSettings): NonNullable<AgentOptions["pilot"]> {
  const pilot: NonNullable<AgentOptions["pilot"]> = {};
  if (s.walltime !== undefined) pilot.walltimeEndMs = Math.floor(Date.now() - process.uptime() * 1000 + s.walltime);
  if (s.idleExit !== undefined) pilot.idleExitMs = s.idleExit;
  if (s.batchJob !== undefined) pilot.batchJob = s.batchJob;
  return pilot;
}

type AgentSettings = ReturnType<typeof resolveAgentSettings>;

function resolveAgentSettings(flags: Record<string, unknown> & { config?: string }) {
  return resolveSettings("agent", AGENT_SETTINGS, AGENT_DEFAULTS, { flags, configFile: flags.config });
}

export function registerAgentCommand(program: Command): void {
  const cmd = program.command("agent").description("run a node agent: pulls quanta from the coordinator, caches inputs in LMDB, runs payloads, stores outputs at its site");
  addSettingOptions(cmd, AGENT_SETTINGS, AGENT_DEFAULTS)
    .addHelpText("after", "\nA closed coordinator: $ORRERY_CA (PEM of its CA: the link uses TLS) and $ORRERY_TOKEN (the agent token),\nelse the cluster file's CA and agent token.")
    .action(async (flags: Record<string, unknown> & { config?: string }, cmd: Command) => {
      const s = resolveAgentSettings(flags);
      const flagsKind = s.kind;
      let coordinator = s.coordinator;
      let natsUrl = s.nats;
      let cluster: ClusterFile | undefined;
      if (coordinator === undefined || natsUrl === undefined) {
        const conn = resolveConnection(cmd.optsWithGlobals<{ cluster?: string }>());
        coordinator ??= conn.coordinator;
        natsUrl ??= conn.natsUrl;
        cluster = conn.cluster;
      }
      // The CA and the agent token: $ORRERY_CA and $ORRERY_TOKEN (as `local up` gives them), else the cluster file's.
      const security = clientSecurity(cluster, "agent");
      const pilot = pilotOptions(s);
      const agentId = s.id ?? (pilot.batchJob !== undefined ? `pilot-${s.site}-${pilot.batchJob}` : `${hostname()}-${s.site}-${process.pid}`);
      // A pilot works in its batch job's folder (the factory's work dir), one per job.
      const workDir = resolve(s.workDir ?? (pilot.batchJob !== undefined ? `pilot-${pilot.batchJob}` : join(".orrery", "agents", agentId)));
      const handle = await runAgent({
        agentId,
        coordinator,
        natsUrl,
        site: s.site,
        kind: s.kind,
        cores: s.cores,
        memoryMB: s.memory,
        diskMB: s.disk,
        cacheDir: resolve(s.cacheDir ?? join(workDir, "cache")),
        cacheSizeBytes: s.cacheSize,
        workDir,
        softwareRoot: resolve(s.softwareRoot ?? process.cwd()),
        prefetch: s.prefetch,
        security,
        pilot,
        ...(s.metrics !== undefined ? { metricsListen: s.metrics } : {}),
      });
      const flagsSite = s.site;
      printNotice(`agent ${agentId} (${flagsKind}, site ${flagsSite}) connecting to the coordinator at ${coordinator}`);
      const onSignal = (sig: NodeJS.Signals) => {
        printNotice(`agent ${agentId}: ${sig}, reporting running quanta as preempted and stopping`);
        handle.stop(`the agent received ${sig}`).catch((err: unknown) => printNotice(`agent ${agentId}: stopping failed: ${err instanceof Error ? err.message : String(err)}`));
      };
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
      const noticeUrl = s.spotNoticeUrl;
      const noticeIntervalMs = s.spotNoticeInterval;
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
