import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { ErrorCode, OrreryError } from "../errors.js";

/** Debian package that provides each server binary we start in local mode. */
const PACKAGES = { "nats-server": "nats-server", "redis-server": "redis-server", munged: "munge", slurmctld: "slurm-wlm", slurmd: "slurm-wlm" } as const;
export type ServerBinary = keyof typeof PACKAGES;

/** Finds a server binary on PATH or in /usr/sbin (Debian puts nats-server, munged and slurmctld there), or says how to install it. */
export function findBinary(name: ServerBinary): string {
  // Debian's daemons live in /usr/sbin, which a non-root PATH often lacks.
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/sbin"];
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
    hint: `run \`npm run setup\` (or \`apt-get install -y ${PACKAGES[name]}\`)`,
  });
}
