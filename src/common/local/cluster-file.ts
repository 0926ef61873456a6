import { z } from "../zod.js";

/** DIR/cluster.json, written by `orrery local up`, read by every other command. */
export const ClusterProcessSchema = z.object({
  name: z.string(),
  role: z.enum(["nats", "redis", "s3", "dbb", "coordinator", "agent", "metadata", "slurm", "pilots"]),
  site: z.string().optional(),
  pid: z.number().int(),
  address: z.string(),
  log: z.string(),
  /** An orrery process's command-line arguments, so `local restart` starts it again the same way. */
  args: z.array(z.string()).optional(),
  /** Where an agent's or the dbb's /metrics and /healthz are served (host:port, its `--metrics`). */
  metrics: z.string().optional(),
});
export type ClusterProcess = z.infer<typeof ClusterProcessSchema>;

const NatsUserSchema = z.object({ user: z.string(), password: z.string() });
const S3KeySchema = z.object({ accessKeyId: z.string(), secretAccessKey: z.string() });

/**
 * A closed cluster's secrets (absent for `local up --insecure`). cluster.json is the
 * operator's file (mode 0600): only the CLI reads them all; each process gets its role's by env.
 */
export const ClusterSecuritySchema = z.object({
  /** PEM file of the cluster's CA (DIR/tls/ca.pem): gRPC clients trust it. */
  ca: z.string(),
  /** Bearer tokens the coordinator accepts, per role. */
  tokens: z.object({ operator: z.string(), agent: z.string() }),
  // NATS, Redis and S3 (see cluster-security.ts)
  nats: z
    .object({ operator: NatsUserSchema, coordinator: NatsUserSchema, dbb: NatsUserSchema, agent: NatsUserSchema, agents: z.record(z.string(), NatsUserSchema).optional() })
    .optional(), // agents: each agent's own user, by agent id
  redisPassword: z.string().optional(),
  s3: z.record(z.string(), S3KeySchema).optional(), // site → its key pair
});
export type ClusterSecurity = z.infer<typeof ClusterSecuritySchema>;

export const ClusterFileSchema = z.object({
  version: z.literal(1),
  dir: z.string(),
  coordinator: z.string(),
  /** The coordinator's HTTP side (host:port): dashboard, /metrics, /healthz; absent in files written before it had one. */
  http: z.string().optional(),
  nats: z.string(),
  redis: z.string(),
  s3: z.record(z.string(), z.string()), // site → endpoint
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }),
  sites: z.array(z.string()),
  processes: z.array(ClusterProcessSchema),
  security: ClusterSecuritySchema.optional(),
  /** `local up --slurm`: the cluster's slurm.conf; Slurm's commands run with SLURM_CONF set to it. */
  slurm: z.object({ conf: z.string() }).optional(),
});
export type ClusterFile = z.infer<typeof ClusterFileSchema>;
