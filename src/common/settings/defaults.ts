// Every default of the three services, in one place.
import { availableParallelism } from "node:os";

/** How often agents heartbeat: the coordinator tells its agents this; an agent told nothing uses it too. */
export const HEARTBEAT_MS = 2000;

/** How long a quantum waits for an agent at its data's site before it runs anywhere. */
export const LOCALITY_DELAY_MS = 3000;

export const COORDINATOR_DEFAULTS = {
  listen: "127.0.0.1:7070",
  redis: "redis://127.0.0.1:6379",
  nats: "nats://127.0.0.1:4222",
  leaseTtl: 15_000,
  heartbeat: HEARTBEAT_MS,
  localityDelay: `${LOCALITY_DELAY_MS / 1000}s`,
  prestage: "on",
  prestageLifetime: "2h",
  prestageInterval: "2s",
  tlsCert: undefined,
  tlsKey: undefined,
  operatorToken: undefined,
  agentToken: undefined,
  http: undefined,
};

/** One node's worth of leases waiting: a freed core starts the next quantum at once. */
export const DEFAULT_PREFETCH = 1;

export const AGENT_DEFAULTS = {
  site: undefined,
  kind: "hpc",
  cores: availableParallelism(),
  memory: 4096,
  disk: 10000,
  prefetch: DEFAULT_PREFETCH,
  cacheDir: undefined,
  cacheSize: 1024 ** 3,
  workDir: undefined,
  softwareRoot: undefined,
  id: undefined,
  coordinator: undefined,
  nats: undefined,
  walltime: undefined,
  batchJob: undefined,
  idleExit: undefined,
  spotNoticeUrl: undefined,
  spotNoticeInterval: "5s",
  metrics: undefined,
};

export const DBB_DEFAULTS = {
  nats: undefined,
  redis: undefined,
  transfersOnly: false,
  transferWorkers: 4,
  transferTries: 5,
  retryDelay: "5s",
  repairDelay: "60s",
  judgeInterval: "5s",
  reaperInterval: "10s",
  metrics: undefined,
};
