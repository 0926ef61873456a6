// The events published on NATS under `orrery.events.…` after a change is
// stored (Subjects.*Event): one JSON object each, `ts` in ms since the epoch.
// The coordinator publishes campaign, quantum and ticket events, the dbb
// replica events; `orrery events` and the dashboard follow them.

export interface CampaignStateEvent {
  kind: "campaign";
  campaign: string;
  state: string;
  ts: number;
  /** The first event of a submitted campaign. */
  submitted?: true;
  /** Quanta by state, on a submit and when many quanta changed at once (instead of one event each). */
  counts?: Record<string, number>;
  /** How many quanta changed state together (a summary of their quantum events). */
  quantaChanged?: number;
}

export interface QuantumStateEvent {
  kind: "quantum";
  campaign: string;
  quantum: string;
  task: string;
  state: string;
  ts: number;
  /** The attempt that caused the change, where one did. */
  attempt?: number;
  site?: string;
  agent?: string;
  /** The attempt's outcome once it ended ("succeeded", "failed", …). */
  outcome?: string;
}

export interface TicketEvent {
  kind: "ticket";
  campaign: string;
  quantum: string;
  task: string;
  state: "open" | "closed";
  outcome: string;
  ts: number;
}

export interface ReplicaStateEvent {
  kind: "replica";
  did: string;
  rse: string;
  state: string;
  bytes?: number;
  ts: number;
}

export type OrreryEvent = CampaignStateEvent | QuantumStateEvent | TicketEvent | ReplicaStateEvent;
