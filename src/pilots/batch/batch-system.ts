// What a pilot factory needs of a batch system: submit a job, list its jobs,
// cancel some. Slurm implements it (slurm.ts); PBS, LSF or HTCondor can too.

export interface PilotJobSpec {
  name: string;
  argv: string[];
  env: Record<string, string>;
  walltimeS: number;
  cores: number;
  memoryMB: number;
  partition?: string;
  workDir: string;
  logFile: string;
}

export type BatchJobState = "pending" | "running" | "finished" | "failed" | "cancelled" | "unknown";

export interface BatchJob {
  id: string;
  name: string;
  state: BatchJobState;
}

export interface BatchSystem {
  readonly kind: string;
  /** Submits a job; resolves to its id. */
  submit(spec: PilotJobSpec): Promise<string>;
  /** The jobs whose name starts with `namePrefix`, as the batch system knows them now. */
  status(namePrefix: string): Promise<BatchJob[]>;
  cancel(ids: string[]): Promise<void>;
}
