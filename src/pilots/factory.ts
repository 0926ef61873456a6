// The pilot factory (`orrery pilots`): every turn it asks the coordinator how
// much work the site could run, lists its own jobs in the batch system, and
// submits or cancels queued pilots (decide.ts). A pilot is `orrery agent
// --kind hpc` that knows its walltime; running pilots leave on their own
// (walltime, idle), so the factory never cancels a running one.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../common/logger.js";
import type { BatchSystem } from "./batch/batch-system.js";
import { decide, type Decision } from "./decide.js";

export interface SiteDemandView {
  readyQuanta: number;
  readyCores: number;
  agents: number;
  idleCores: number;
}

export interface FactoryOptions {
  site: string;
  maxPilots: number;
  walltimeS: number;
  cores: number;
  memoryMB: number;
  partition?: string;
  /** A pilot leaves after this long without work. */
  idleExitS: number;
  /** Where pilots run (each in pilot-<job>/ under it) and write their batch logs. */
  workDir: string;
  /** The command that starts `orrery` (node and the bin script). */
  orrery: string[];
  softwareRoot: string;
  /** What pilots inherit: where the coordinator and NATS are, and the agent's credentials. */
  env: Record<string, string>;
}

export interface TurnReport extends Decision {
  demand: SiteDemandView;
  pending: number;
  running: number;
  submitted: string[];
}

/** Slurm's walltime is in whole minutes; the pilot itself is told the exact one. */
export function jobName(site: string): string {
  return `orrery-pilot-${site}`;
}

export class PilotFactory {
  constructor(
    private readonly batch: BatchSystem,
    private readonly demand: () => Promise<SiteDemandView>,
    private readonly opts: FactoryOptions,
    private readonly log: Logger,
  ) {
    mkdirSync(join(opts.workDir, "logs"), { recursive: true });
  }

  async turn(): Promise<TurnReport> {
    const o = this.opts;
    const [demand, jobs] = await Promise.all([this.demand(), this.batch.status(jobName(o.site))]);
    const pending = jobs.filter((j) => j.state === "pending").map((j) => j.id);
    const running = jobs.filter((j) => j.state === "running").length;
    const decision = decide({ ...demand, pending, running }, { maxPilots: o.maxPilots, cores: o.cores });
    if (decision.cancel.length > 0) {
      await this.batch.cancel(decision.cancel);
      this.log.info({ cancelled: decision.cancel, readyQuanta: demand.readyQuanta }, "queued pilots no longer needed: cancelled");
    }
    const submitted: string[] = [];
    for (let i = 0; i < decision.submit; i++) submitted.push(await this.batch.submit(this.jobSpec()));
    if (submitted.length > 0) this.log.info({ submitted, readyQuanta: demand.readyQuanta, readyCores: demand.readyCores, running }, "pilots submitted");
    return { ...decision, demand, pending: pending.length, running, submitted };
  }

  private jobSpec() {
    const o = this.opts;
    return {
      name: jobName(o.site),
      argv: [
        ...o.orrery, "agent", "--kind", "hpc", "--site", o.site,
        "--cores", String(o.cores), "--memory", String(o.memoryMB),
        "--walltime", `${o.walltimeS}s`, "--idle-exit", `${o.idleExitS}s`,
        // A pilot's leases must fit its walltime as they start: none waits for a core.
        "--prefetch", "0",
        "--software-root", o.softwareRoot,
      ],
      env: o.env,
      walltimeS: o.walltimeS,
      cores: o.cores,
      memoryMB: o.memoryMB,
      ...(o.partition !== undefined ? { partition: o.partition } : {}),
      workDir: o.workDir,
      logFile: join(o.workDir, "logs", "pilot-%j.log"),
    };
  }

  /** Cancels every queued pilot (the factory is stopping); running ones finish on their own. */
  async drain(): Promise<number> {
    const queued = (await this.batch.status(jobName(this.opts.site))).filter((j) => j.state === "pending").map((j) => j.id);
    if (queued.length > 0) await this.batch.cancel(queued);
    return queued.length;
  }
}
