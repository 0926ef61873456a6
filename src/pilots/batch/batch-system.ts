// What the pilot factory needs of a batch system: submit a pilot job, list
// its jobs, cancel some. Slurm is one (slurm.ts); PBS, LSF or HTCondor would
// be others beside it.

export interface PilotJobSpec {
  /** Job name; the factory finds its jobs by a name prefix. */
  name: string;
  argv: string[];
  /** The job's environment besides PATH and HOME (secrets included): never put on a command line or in a world-readable file. */
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
  /** Queues the job; resolves to its id. */
  submit(spec: PilotJobSpec): Promise<string>;
  /** Jobs whose name starts with `namePrefix`, those still queued or running and those finished lately. */
  status(namePrefix: string): Promise<BatchJob[]>;
  /** Cancels these jobs; ids already gone are not an error. */
  cancel(ids: string[]): Promise<void>;
}
