/** NATS subjects and JetStream streams that processes meet on. */
export const Subjects = {
  /** DBB request/reply API: `dbb.<endpoint>` (service "dbb"). */
  dbbApi: (endpoint: DbbEndpoint) => `dbb.${endpoint}`,
  /** Replica registrations from agents, consumed by the DBB (acknowledged publishes). */
  replicaRegister: "dbb.replica.register",
  /** Catalog events: a replica became AVAILABLE etc. */
  replicaEvents: "dbb.event.replica",
  /** Campaign and quantum events from the coordinator. */
  campaignEvents: (campaign: string) => `orrery.event.campaign.${campaign}`,
} as const;

export const DbbEndpoints = ["rse.add", "rse.list", "register", "replicas", "files", "rule.add", "rule.list", "rule.show", "rule.delete", "rule.update", "policy.set", "policy.show"] as const;
export type DbbEndpoint = (typeof DbbEndpoints)[number];

export const Streams = {
  replicas: { name: "DBB_REPLICAS", subjects: ["dbb.replica.register"] },
} as const;

export const DBB_SERVICE_NAME = "dbb";
