/** NATS subjects and JetStream streams that processes meet on. */
export const Subjects = {
  /** DBB request/reply API: `dbb.<endpoint>` (service "dbb"). */
  dbbApi: (endpoint: DbbEndpoint) => `dbb.${endpoint}`,
  /** Replica registrations from agents, consumed by the DBB (acknowledged publishes). */
  replicaRegister: "dbb.replica.register",
  /** Catalog events: a replica became AVAILABLE etc. */
  replicaEvents: "dbb.event.replica",
  /**
   * Transfer requests for one destination RSE (stream DBB_TRANSFERS). No dbb
   * API endpoint may be named `transfer.…`: the stream owns `dbb.transfer.>`.
   */
  transfer: (rse: string) => `dbb.transfer.${rse}`,
  /**
   * State changes after they are stored (orrery-events.ts): the coordinator's
   * `orrery.events.{campaign,quantum,ticket}.<campaign>`, the dbb's
   * `orrery.events.replica.<rse>`; `events` is all of them.
   */
  events: "orrery.events.>",
  campaignEvent: (campaign: string) => `orrery.events.campaign.${campaign}`,
  quantumEvent: (campaign: string) => `orrery.events.quantum.${campaign}`,
  ticketEvent: (campaign: string) => `orrery.events.ticket.${campaign}`,
  replicaEvent: (rse: string) => `orrery.events.replica.${rse}`,
} as const;

export const DbbEndpoints = [
  "rse.add",
  "rse.list",
  "register",
  "replicas",
  "files",
  // collections
  "attach",
  "detach",
  "contents",
  "close",
  // rules
  "rule.add",
  "rule.list",
  "rule.show",
  "rule.delete",
  "rule.update",
  // bad replicas
  "replica.bad",
  // a quantum's accepted outputs: other attempts' replicas made obsolete
  "replica.settle",
  // a presigned GET of a replica, for a reader without the key of its site
  "replica.url",
  // site policies
  "policy.set",
  "policy.show",
] as const;
export type DbbEndpoint = (typeof DbbEndpoints)[number];

export const Streams = {
  replicas: { name: "DBB_REPLICAS", subjects: ["dbb.replica.register"] },
  transfers: { name: "DBB_TRANSFERS", subjects: ["dbb.transfer.>"] },
} as const;

export const DBB_SERVICE_NAME = "dbb";

/** Reply subjects of agents' requests: their own prefix, so the agents' NATS user cannot read other processes' replies. */
export const AGENT_INBOX_PREFIX = "_INBOX_agent";
