// The batch systems a pilot factory can use.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { BatchSystem } from "./batch-system.js";
import { SlurmBatch } from "./slurm.js";

export type { BatchJob, BatchJobState, BatchSystem, PilotJobSpec } from "./batch-system.js";
export const BATCH_KINDS = ["slurm"] as const;

/** The batch system of `--batch KIND`; Slurm finds its cluster through $SLURM_CONF, as its own commands do. */
export function batchSystem(kind: string): BatchSystem {
  if (kind === "slurm") return new SlurmBatch({ conf: process.env["SLURM_CONF"] || "/etc/slurm/slurm.conf" });
  throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--batch must be one of ${BATCH_KINDS.join(", ")}, not "${kind}"`, {
    hint: "PBS, LSF and HTCondor are not supported yet",
  });
}
