// The local cluster's pilot factory for site-hpc (`local up --slurm`): its
// command line, sized to the local Slurm node so no pilot waits for cores
// that do not exist.
import { join, resolve } from "node:path";
import { SLURM_PARTITION, SLURM_SITE } from "./slurm.js";

export interface LocalPilotOptions {
  /** Pilot jobs at most (default 2), each of `cores` (default 2) and `memoryMB` (default 2048). */
  maxPilots?: number;
  cores?: number;
  memoryMB?: number;
  /** Each pilot's walltime (default 10 min) and how long it stays without work (default 20 s). */
  walltimeS?: number;
  idleExitS?: number;
  /** How often the factory looks (default 2 s). */
  intervalS?: number;
}

/** The NATS user every pilot of the local cluster shares (pilots start where no per-agent user can be made for them). */
export const PILOTS_NATS_USER = "pilots";

export function pilotFactoryArgs(dir: string, softwareRoot: string, o: LocalPilotOptions = {}): string[] {
  return [
    "pilots", "--site", SLURM_SITE, "--batch", "slurm", "--partition", SLURM_PARTITION,
    "--max-pilots", String(o.maxPilots ?? 2), "--cores", String(o.cores ?? 2), "--memory", String(o.memoryMB ?? 2048),
    "--walltime", `${o.walltimeS ?? 600}s`, "--idle-exit", `${o.idleExitS ?? 20}s`, "--interval", `${o.intervalS ?? 2}s`,
    "--work-dir", join(dir, "pilots"), "--software-root", resolve(softwareRoot),
  ];
}
