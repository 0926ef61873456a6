import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { ErrorCode, OrreryError } from "../errors.js";

/** Debian package that provides each server binary we start in local mode. */
const PACKAGES = { "nats-server": "nats-server", "redis-server": "redis-server", munged: "munge", slurmctld: "slurm-wlm", slurmd: "slurm-wlm" } as const;
export type ServerBinary = keyof typeof PACKAGES;

/** Finds a server binary on PATH (Debian puts nats-server in /usr/sbin; Slurm's daemons are looked for there too), or says how to install it. */
export function findBinary(name: ServerBinary): string {
  // Debian's munged and slurm daemons live in /usr/sbin, which a non-root PATH often lacks.
  const sbin = name === "munged" || name === "slurmctld" || name === "slurmd" ? ["/usr/sbin", "/sbin"] : [];
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), ...sbin];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new OrreryError(ErrorCode.MISSING_BINARY, `${name} is not installed`, {
    // Slurm and munge are installed by setup for the tests only (the demo goes without).
    hint: `run \`npm run setup${sbin.length > 0 ? " -- --tests" : ""}\` (or \`apt-get install -y ${PACKAGES[name]}\`)`,
  });
}
