// The secrets of a closed local cluster's NATS, Redis and S3 (`orrery local up`
// without --insecure): made once, kept in cluster.json (mode 0600), and handed to
// each process only as far as its role needs (roleEnv in cluster.ts).
import { randomBytes } from "node:crypto";
import { AGENT_INBOX_PREFIX, Subjects } from "../subjects.js";
import type { ClusterFile } from "./cluster-file.js";
import type { NatsAuth } from "../nats.js";
import type { S3KeyPair } from "../s3.js";

export interface NatsUser {
  user: string;
  password: string;
}
export type NatsRole = "operator" | "coordinator" | "dbb" | "agent";
/** The role users, and one user per agent of the cluster (by agent id): it hears only its own replies. */
export type NatsUsers = Record<NatsRole, NatsUser> & { agents?: Record<string, NatsUser> | undefined };
export interface DataSecurity {
  nats: NatsUsers;
  redisPassword: string;
  s3: Record<string, S3KeyPair>;
}

const secret = (bytes = 24) => randomBytes(bytes).toString("base64url");

export function makeDataSecurity(sites: readonly string[]): DataSecurity {
  const user = (name: NatsRole): NatsUser => ({ user: name, password: secret() });
  return {
    nats: { operator: user("operator"), coordinator: user("coordinator"), dbb: user("dbb"), agent: user("agent") },
    redisPassword: secret(),
    s3: Object.fromEntries(sites.map((site) => [site, { accessKeyId: `orrery-${site}-${secret(6)}`, secretAccessKey: secret(30) }])),
  };
}


/** An agent's own NATS user: its id made a subject-safe token. */
export function newAgentNatsUser(agentId: string): NatsUser {
  return { user: agentId.replace(/[^A-Za-z0-9_-]/g, "_"), password: secret() };
}

/** The reply prefix of an agent's own user: the only subjects it may listen on. */
export function agentInbox(user: string): string {
  return `${AGENT_INBOX_PREFIX}_${user}`;
}

const api = (e: Parameters<typeof Subjects.dbbApi>[0]) => Subjects.dbbApi(e);

interface Permissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  allow_responses?: boolean;
}

/**
 * Per-role subject permissions. The agent may publish its replica
 * registrations and call the few read endpoints stage-in needs, and hear only
 * its replies; the coordinator reads the catalog and asks for pre-staging
 * rules; the dbb serves its API and runs its JetStream streams; the operator
 * (the CLI) uses the whole dbb API.
 */
export const NATS_PERMISSIONS: Record<NatsRole, Permissions> = {
  operator: {
    publish: { allow: ["dbb.>", "$JS.API.>", "$SRV.>", "orrery.>"] },
    subscribe: { allow: ["_INBOX.>", "dbb.event.>", "orrery.>"] },
  },
  coordinator: {
    publish: { allow: [api("files"), api("rse.list"), api("replicas"), api("rule.add"), api("rule.list"), api("rule.show"), api("replica.settle"), "orrery.>"] },
    // orrery.events.>: the events it relays to `orrery events` and the dashboard.
    subscribe: { allow: ["_INBOX.>", Subjects.replicaEvents, Subjects.events] },
  },
  dbb: {
    publish: { allow: ["dbb.>", "$JS.>", "$SRV.>", "_INBOX.>", `${AGENT_INBOX_PREFIX}.>`, Subjects.replicaEvent(">")] },
    subscribe: { allow: ["dbb.>", "$SRV.>", "_INBOX.>"] },
    allow_responses: true,
  },
  agent: {
    publish: { allow: [api("rse.list"), api("replicas"), api("replica.bad"), api("replica.url"), Subjects.replicaRegister] },
    subscribe: { allow: [`${AGENT_INBOX_PREFIX}.>`] },
  },
};

/**
 * nats-server's configuration (JSON is valid in its format) with one user per
 * role, and one per agent: an agent's may do what the agent role may, but
 * listen only on its own reply prefix, so no agent reads another's replies.
 */
export function natsAuthConfig(users: NatsUsers): string {
  const roles = Object.keys(NATS_PERMISSIONS) as NatsRole[];
  const list = roles.map((role) => ({ user: users[role].user, password: users[role].password, permissions: NATS_PERMISSIONS[role] }));
  for (const u of Object.values(users.agents ?? {})) {
    list.push({ user: u.user, password: u.password, permissions: { publish: NATS_PERMISSIONS.agent.publish, subscribe: { allow: [`${agentInbox(u.user)}.>`] } } });
  }
  return `${JSON.stringify({ authorization: { users: list } }, null, 2)}\n`;
}

/** What each server of a closed cluster is started with (nothing for an open one); `local restart` uses these too. */
export function natsServerConfig(cluster: ClusterFile): { config?: string } {
  const nats = cluster.security?.nats;
  return nats ? { config: natsAuthConfig(nats) } : {};
}

export function redisServerPassword(cluster: ClusterFile): { password?: string } {
  const password = cluster.security?.redisPassword;
  return password !== undefined ? { password } : {};
}

export function s3ServerKey(cluster: ClusterFile, site: string): { key?: S3KeyPair } {
  const key = cluster.security?.s3?.[site];
  return key ? { key } : {};
}

/**
 * The NATS user of a role (nothing for an open cluster), e.g. the operator's
 * for the CLI; for an agent with an id, that agent's own user and reply prefix.
 */
export function natsAuthOf(cluster: ClusterFile, role: NatsRole = "operator", agentId?: string): NatsAuth {
  const own = role === "agent" && agentId !== undefined ? cluster.security?.nats?.agents?.[agentId] : undefined;
  if (own) return { user: own.user, password: own.password, inboxPrefix: agentInbox(own.user) };
  const u = cluster.security?.nats?.[role];
  return { ...(u ? { user: u.user, password: u.password } : {}), ...(role === "agent" ? { inboxPrefix: AGENT_INBOX_PREFIX } : {}) };
}
