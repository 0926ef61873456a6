// `orrery pilots`: a pilot factory for one HPC site. It keeps pilot jobs
// queued in the batch system while the coordinator has work the site could
// run, and none when it has none; see src/pilots/factory.ts.
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import type { Command } from "commander";
import { createLogger } from "../common/logger.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { parseDuration } from "../common/duration.js";
import { clientSecurity } from "../common/grpc-security.js";
import { createUnaryClient, waitForChannel } from "../common/grpc-service.js";
import { signalReady } from "../common/ready.js";
import { AgentLinkService } from "../gen/orrery/v1/agent_link_pb.js";
import { exitMarginMs } from "../agent/pilot-lifetime.js";
import { batchSystem, BATCH_KINDS } from "../pilots/batch/index.js";
import { PilotFactory, type FactoryOptions } from "../pilots/factory.js";
import { resolveConnection } from "./connection.js";
import { globalOptions } from "./global-options.js";
import { printJson, printLine, printNotice } from "./output.js";

interface PilotsFlags {
  site: string;
  batch: string;
  maxPilots: string;
  walltime: string;
  cores: string;
  memory: string;
  partition?: string;
  interval: string;
  idleExit: string;
  workDir?: string;
  softwareRoot?: string;
  once?: boolean;
}

const ORRERY_BIN = fileURLToPath(new URL("../../bin/orrery.mjs", import.meta.url));
/** What a pilot may spend starting up (node, TLS, hello) before its first quantum. */
const STARTUP_S = 5;

function whole(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} must be a whole number ≥ 1, not "${value}"`);
  return n;
}

function seconds(flag: string, value: string, min: number): number {
  const s = parseDuration(value, flag);
  if (s < min) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} must be at least ${min}s, not "${value}"`);
  return s;
}

/** The time limit a quantum may have to run on a pilot: the walltime less start-up and the pilot's exit margin. */
export function usableWalltimeS(walltimeS: number): number {
  return Math.max(1, Math.floor(walltimeS - STARTUP_S - exitMarginMs(walltimeS * 1000) / 1000));
}

export function registerPilotsCommand(program: Command): void {
  program
    .command("pilots")
    .description("run a pilot factory for an HPC site: keeps pilot jobs (orrery agent --kind hpc) queued in the batch system while the site has work")
    .requiredOption("--site <site>", "the HPC site the pilots serve")
    .option("--batch <kind>", `batch system: ${BATCH_KINDS.join(", ")}`, "slurm")
    .option("--max-pilots <n>", "pilot jobs queued and running at most", "4")
    .option("--walltime <duration>", "each pilot's walltime (90s, 30m, 12h); quanta whose time limit does not fit are left to other agents", "1h")
    .option("--cores <n>", "cores of one pilot", "2")
    .option("--memory <mb>", "memory of one pilot, in MB", "4096")
    .option("--partition <p>", "batch partition (default: the system's default)")
    .option("--interval <duration>", "how often the factory looks at the work and its jobs", "10s")
    .option("--idle-exit <duration>", "a pilot without work leaves after this long", "60s")
    .option("--work-dir <dir>", "where pilots run and their batch logs go (default ./.orrery/pilots)")
    .option("--software-root <dir>", "where pilots resolve relative program paths of task commands (default: the current directory)")
    .option("--once", "one turn: print what was decided and exit")
    .addHelpText(
      "after",
      "\nPilots inherit this process's environment: $ORRERY_COORDINATOR, $ORRERY_NATS, and for a closed cluster\n" +
        "$ORRERY_CA and the agent $ORRERY_TOKEN (else the cluster file's), $ORRERY_NATS_USER and $ORRERY_NATS_PASSWORD,\n" +
        "and $ORRERY_S3_KEYS for the site's storage. Slurm is found through $SLURM_CONF (default /etc/slurm/slurm.conf).",
    )
    .action(async (flags: PilotsFlags, cmd: Command) => {
      const walltimeS = seconds("--walltime", flags.walltime, 15);
      const conn = resolveConnection(cmd.optsWithGlobals<{ cluster?: string }>());
      const security = clientSecurity(conn.cluster, "agent");
      const opts: FactoryOptions = {
        site: flags.site,
        maxPilots: whole("--max-pilots", flags.maxPilots),
        walltimeS,
        cores: whole("--cores", flags.cores),
        memoryMB: whole("--memory", flags.memory),
        ...(flags.partition !== undefined ? { partition: flags.partition } : {}),
        idleExitS: seconds("--idle-exit", flags.idleExit, 1),
        workDir: resolve(flags.workDir ?? ".orrery/pilots"),
        orrery: [process.execPath, ORRERY_BIN],
        softwareRoot: resolve(flags.softwareRoot ?? process.cwd()),
        env: pilotEnv(conn.coordinator, conn.natsUrl, security),
      };
      const intervalMs = seconds("--interval", flags.interval, 1) * 1000;
      const batch = batchSystem(flags.batch);
      const client = createUnaryClient(AgentLinkService, conn.coordinator, 10_000, security);
      const log = createLogger("pilots", { site: flags.site });
      const shape = { site: opts.site, cores: opts.cores, memoryMb: opts.memoryMB, walltimeS: usableWalltimeS(walltimeS) };
      const factory = new PilotFactory(batch, () => client.siteDemand(shape), opts, log);
      try {
        await waitForChannel(client.raw, conn.coordinator, 5_000);
        if (flags.once) {
          const report = await factory.turn();
          if (globalOptions(cmd).json) printJson(report);
          else printLine(`site ${opts.site}: ${report.demand.readyQuanta} ready quanta; ${report.running} pilots running, ${report.pending} queued; submitted ${report.submitted.length}, cancelled ${report.cancel.length}`);
          return;
        }
        printNotice(`pilot factory for ${opts.site} (${batch.kind}, up to ${opts.maxPilots} pilots of ${opts.cores} cores, walltime ${walltimeS}s)`);
        await runLoop(factory, intervalMs, log);
      } finally {
        client.close();
      }
    });
}

/** Turns until SIGTERM/SIGINT; then queued pilots are cancelled (running ones finish their work and leave). */
async function runLoop(factory: PilotFactory, intervalMs: number, log: ReturnType<typeof createLogger>): Promise<void> {
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  process.once("SIGTERM", () => stop());
  process.once("SIGINT", () => stop());
  let ready = false;
  let done = false;
  stopped.then(
    () => (done = true),
    () => undefined,
  );
  while (!done) {
    try {
      await factory.turn();
      if (!ready) {
        ready = true;
        signalReady({ role: "pilots" });
      }
    } catch (err) {
      // The coordinator or the batch system being briefly unreachable is not fatal: the next turn tries again.
      log.warn({ err }, "pilot factory turn failed");
    }
    await Promise.race([stopped, new Promise((r) => setTimeout(r, intervalMs))]);
  }
  const cancelled = await factory.drain().catch((err: unknown) => {
    log.error({ err }, "could not cancel queued pilots");
    return 0;
  });
  log.info({ cancelled }, "pilot factory stopped");
}

/** What a pilot job needs to reach the cluster; secrets go by environment (this process's), never on a command line. */
function pilotEnv(coordinator: string, natsUrl: string, security: ReturnType<typeof clientSecurity>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env["ORRERY_COORDINATOR"] = coordinator;
  env["ORRERY_NATS"] = natsUrl;
  if (security.caFile !== undefined && env["ORRERY_CA"] === undefined) env["ORRERY_CA"] = security.caFile;
  if (security.token !== undefined && env["ORRERY_TOKEN"] === undefined) env["ORRERY_TOKEN"] = security.token;
  return env;
}
