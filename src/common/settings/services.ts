// The settings of `orrery coordinator`, `orrery agent` and `orrery dbb`: one
// spec (hence one zod schema, serviceSchema) per service. Flags and variables
// keep the names they always had; `http` and `metrics` serve /metrics, /healthz.
import { durationMs, flag, hostPort, matching, natsUrl, oneOf, optionalText, url, whole } from "./values.js";
import type { SettingSpecs } from "./define.js";

const MAX_MS = 365 * 24 * 3600 * 1000;

export const COORDINATOR_SETTINGS = {
  listen: { flag: "--listen <host:port>", env: "ORRERY_LISTEN", help: "gRPC address to listen on", schema: hostPort },
  redis: { flag: "--redis <url>", env: "ORRERY_REDIS", help: "Redis URL", schema: url("redis") },
  nats: { flag: "--nats <url>", env: "ORRERY_NATS", help: "NATS URL", schema: natsUrl },
  leaseTtl: { flag: "--lease-ttl <ms>", help: "lease lifetime without a heartbeat", schema: whole(1, MAX_MS, "milliseconds") },
  heartbeat: { flag: "--heartbeat <ms>", help: "agent heartbeat interval", schema: whole(1, MAX_MS, "milliseconds") },
  localityDelay: {
    flag: "--locality-delay <duration>",
    help: "how long a quantum waits for an agent at its data's site before it runs anywhere (a campaign's localityWait overrides it)",
    schema: durationMs(),
  },
  prestage: { flag: "--prestage <on|off>", help: "ask the data backbone for transient rules that copy waiting quanta's inputs to sites whose agents are idle", schema: oneOf(["on", "off"]) },
  prestageLifetime: { flag: "--prestage-lifetime <duration>", help: "lifetime of those rules", schema: durationMs(true) },
  prestageInterval: { flag: "--prestage-interval <duration>", help: "how often the coordinator looks for idle sites and waiting quanta", schema: durationMs(true) },
  tlsCert: { flag: "--tls-cert <file>", env: "ORRERY_TLS_CERT", help: "serve gRPC over TLS with this PEM certificate (none: plaintext)", schema: optionalText("a PEM file") },
  tlsKey: { flag: "--tls-key <file>", env: "ORRERY_TLS_KEY", help: "the certificate's PEM private key", schema: optionalText("a PEM file") },
  operatorToken: { env: "ORRERY_OPERATOR_TOKEN", file: false, help: "bearer token of the campaign API", schema: optionalText("a token") },
  agentToken: { env: "ORRERY_AGENT_TOKEN", file: false, help: "bearer token of the agent link", schema: optionalText("a token") },
  http: { flag: "--http <host:port>", env: "ORRERY_HTTP", help: "serve /metrics, /healthz and the dashboard over HTTP here (none: no HTTP)", schema: hostPort.optional() },
} satisfies SettingSpecs;

export const AGENT_SETTINGS = {
  site: { flag: "--site <site>", help: "the site this node belongs to (required)", schema: matching(/^[A-Za-z0-9_.-]{1,64}$/, "must be a site name: 1..64 of [A-Za-z0-9_.-], e.g. site-a") },
  kind: { flag: "--kind <kind>", help: "node kind: hpc, spot or static", schema: oneOf(["hpc", "spot", "static"]) },
  cores: { flag: "--cores <n>", help: "cores to offer", defaultText: "all of this machine's", schema: whole(1, 4096, "cores") },
  memory: { flag: "--memory <mb>", help: "memory to offer, in MB", schema: whole(1, 64 * 1024 * 1024, "MB") },
  disk: { flag: "--disk <mb>", help: "scratch disk to offer, in MB", schema: whole(1, 1024 * 1024 * 1024, "MB") },
  prefetch: { flag: "--prefetch <n>", help: "leases to keep waiting beyond the free capacity, in multiples of the node's capacity (0: none)", schema: whole(0, 16, "node capacities") },
  cacheDir: { flag: "--cache-dir <dir>", help: "LMDB cache and journal", defaultText: "<work-dir>/cache", schema: optionalText("a directory") },
  cacheSize: { flag: "--cache-size <bytes>", help: "cache budget in bytes", schema: whole(1, Number.MAX_SAFE_INTEGER, "bytes") },
  workDir: { flag: "--work-dir <dir>", help: "scratch directories of running quanta", defaultText: "./.orrery/agents/<id>; a pilot's ./pilot-<batch job>", schema: optionalText("a directory") },
  softwareRoot: { flag: "--software-root <dir>", help: "where relative program paths of task commands resolve", defaultText: "the current directory", schema: optionalText("a directory") },
  id: { flag: "--id <id>", help: "agent id, stable across restarts to resume from the journal", defaultText: "<host>-<site>-<pid>", schema: optionalText("an agent id") },
  coordinator: { flag: "--coordinator <host:port>", env: "ORRERY_COORDINATOR", help: "coordinator address", defaultText: "the cluster file's", schema: hostPort.optional() },
  nats: { flag: "--nats <url>", env: "ORRERY_NATS", help: "NATS URL", defaultText: "the cluster file's", schema: natsUrl.optional() },
  walltime: { flag: "--walltime <duration>", help: "a pilot's walltime (90s, 30m, 12h): it takes no quantum that would outlast it and leaves before it ends", schema: durationMs(true).optional() },
  batchJob: {
    flag: "--batch-job <id>",
    env: "SLURM_JOB_ID",
    help: "a pilot's batch job id, shown by `orrery agents`",
    schema: matching(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1..64 of [A-Za-z0-9_.:-]").optional(),
  },
  idleExit: { flag: "--idle-exit <duration>", help: "leave after this long with no work (a pilot gives its slot back)", defaultText: "never", schema: durationMs().optional() },
  spotNoticeUrl: {
    flag: "--spot-notice-url <url>",
    env: "ORRERY_SPOT_NOTICE_URL",
    help: "EC2-style spot instance-action URL to poll, IMDSv2 token from ../../api/token",
    defaultText: "none: only SIGTERM",
    schema: url("http").optional(),
  },
  spotNoticeInterval: { flag: "--spot-notice-interval <duration>", help: "how often to poll the spot notice", schema: durationMs(true) },
  metrics: { flag: "--metrics <host:port>", env: "ORRERY_METRICS", help: "serve /metrics and /healthz over HTTP here (none: no HTTP)", schema: hostPort.optional() },
} satisfies SettingSpecs;

export const DBB_SETTINGS = {
  nats: { flag: "--nats <url>", env: "ORRERY_NATS", help: "NATS server (for subcommands the cluster's)", schema: natsUrl.optional() },
  redis: { flag: "--redis <url>", env: "ORRERY_REDIS", help: "Redis server of the catalog", schema: url("redis").optional() },
  transfersOnly: { flag: "--transfers-only", help: "run only transfer workers (no catalog API): more copy capacity beside a dbb", schema: flag },
  transferWorkers: { flag: "--transfer-workers <n>", help: "copies at once per destination RSE in this process (0: none)", schema: whole(0, 1000, "copies") },
  transferTries: { flag: "--transfer-tries <n>", help: "tries of a transfer before its locks are STUCK", schema: whole(1, 100, "tries") },
  retryDelay: { flag: "--retry-delay <duration>", help: "delay before a failed transfer's second try (doubling after)", schema: durationMs() },
  repairDelay: { flag: "--repair-delay <duration>", help: "how long a lock stays STUCK before the repairer moves it", schema: durationMs() },
  judgeInterval: { flag: "--judge-interval <duration>", help: "how often expired and stuck rules are looked at", schema: durationMs() },
  reaperInterval: { flag: "--reaper-interval <duration>", help: "how often the reaper looks at each RSE's tombstones and quota", schema: durationMs() },
  metrics: { flag: "--metrics <host:port>", env: "ORRERY_METRICS", help: "serve /metrics and /healthz over HTTP here (none: no HTTP)", schema: hostPort.optional() },
} satisfies SettingSpecs;

