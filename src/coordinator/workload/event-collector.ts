// The events of what the journal holds (orrery-events.ts): quantum state
// changes as the campaign table makes them, campaign states as their records
// are journaled, tickets as their owner reports them. The journal takes them
// when it flushes and publishes them once the flush is stored; a failed flush
// puts them back. Without a sink nothing is collected (benches, unit tests).
import type { CampaignStateEvent, TicketEvent } from "../../common/orrery-events.js";
import { Subjects } from "../../common/subjects.js";
import type { LiveCampaign, TableObserver } from "./campaign-table.js";
import type { QuantumState } from "./quantum-state.js";

/** Publishes one event (core NATS: no wait, no throw). */
export type EventSink = (subject: string, json: string) => void;

/**
 * Quantum events of one campaign in one flush beyond which they are summed up
 * in one campaign event with counts (a cancel of a million quanta is one event).
 */
/** Events held across failed flushes, at most. */
export const MAX_KEPT_EVENTS = 50_000;

export const MAX_QUANTUM_EVENTS_PER_FLUSH = 10_000;

interface QuantumChange {
  c: LiveCampaign;
  row: number;
  state: QuantumState;
  ts: number;
  /** Attempts the quantum had made when it changed (a lease's attempt is added just after). */
  attempts: number;
}

type Held = { change: QuantumChange } | { subject: string; event: CampaignStateEvent | TicketEvent };

/** A ticket that opened or closed (its event is stamped when journaled). */
export type TicketChange = Omit<TicketEvent, "kind" | "ts">;

/** An event ready to go. */
export interface BuiltEvent {
  subject: string;
  json: string;
}

export class EventCollector implements TableObserver {
  private held: Held[] = [];
  /** Quantum changes held per campaign (past MAX_QUANTUM_EVENTS_PER_FLUSH only counted, not held). */
  private changes = new Map<LiveCampaign, number>();
  /** Built by a flush that failed: they go first next time. */
  private kept: BuiltEvent[] = [];
  /** The last campaign state put in an event (or loaded): a journaled record with the same state is no event. */
  private readonly announced = new WeakMap<LiveCampaign, string>();

  constructor(
    private readonly sink: EventSink,
    private readonly clock: () => number = Date.now,
  ) {}

  added(c: LiveCampaign): void {
    this.announced.set(c, c.state);
  }

  transitioned(c: LiveCampaign, row: number, state: QuantumState): void {
    const n = (this.changes.get(c) ?? 0) + 1;
    this.changes.set(c, n);
    if (n <= MAX_QUANTUM_EVENTS_PER_FLUSH) this.held.push({ change: { c, row, state, ts: this.clock(), attempts: c.rows.run(row)?.attempts.length ?? 0 } });
  }

  /** The campaign's record was journaled: an event if its state changed since the last one. */
  campaign(c: LiveCampaign): void {
    if (this.announced.get(c) === c.state) return;
    this.announced.set(c, c.state);
    this.held.push({ subject: Subjects.campaignEvent(c.name), event: { kind: "campaign", campaign: c.name, state: c.state, ts: this.clock() } });
  }

  /** A campaign was submitted (its first state, with its quanta by state). */
  submitted(c: LiveCampaign): void {
    this.announced.set(c, c.state);
    this.held.push({ subject: Subjects.campaignEvent(c.name), event: { kind: "campaign", campaign: c.name, state: c.state, ts: this.clock(), submitted: true, counts: nonZero(c.counts) } });
  }

  ticket(e: TicketChange): void {
    this.held.push({ subject: Subjects.ticketEvent(e.campaign), event: { kind: "ticket", ...e, ts: this.clock() } });
  }

  /**
   * What is held, built now (a flush drops finished runs, whose attempts the
   * quantum events name, once stored), in the order the changes were made.
   */
  take(): BuiltEvent[] {
    const held = this.held;
    const changes = this.changes;
    const out = this.kept;
    this.held = [];
    this.changes = new Map();
    this.kept = [];
    const left = new Map<LiveCampaign, number>();
    for (const [c, n] of changes) if (n > MAX_QUANTUM_EVENTS_PER_FLUSH) left.set(c, MAX_QUANTUM_EVENTS_PER_FLUSH);
    for (const h of held) {
      if (!("change" in h)) {
        out.push({ subject: h.subject, json: JSON.stringify(h.event) });
        continue;
      }
      const { c } = h.change;
      const n = left.get(c);
      if (n === undefined) out.push({ subject: Subjects.quantumEvent(c.name), json: quantumEventJson(h.change) });
      else if (left.set(c, n - 1).get(c) === 0) {
        // At the place of the last change held (those after it were only counted).
        const e: CampaignStateEvent = { kind: "campaign", campaign: c.name, state: c.state, ts: h.change.ts, counts: nonZero(c.counts), quantaChanged: changes.get(c)! };
        out.push({ subject: Subjects.campaignEvent(c.name), json: JSON.stringify(e) });
      }
    }
    return out;
  }

  /**
   * Events of a flush that failed: published after the next one that works.
   * A long store outage holds at most MAX_KEPT_EVENTS: past it, quantum
   * events are dropped first (the campaign events that follow carry counts).
   */
  putBack(events: BuiltEvent[]): void {
    const all = [...events, ...this.kept];
    if (all.length <= MAX_KEPT_EVENTS) {
      this.kept = all;
      return;
    }
    const quantum = Subjects.quantumEvent("");
    const others = all.filter((e) => !e.subject.startsWith(quantum));
    this.kept = others.length >= MAX_KEPT_EVENTS ? others.slice(-MAX_KEPT_EVENTS) : others;
  }

  publish(events: readonly BuiltEvent[]): void {
    for (const e of events) this.sink(e.subject, e.json);
  }
}

const str = (v: string) => JSON.stringify(v);

/**
 * The event of a change (QuantumStateEvent, written out: one per quantum
 * change, the hottest path of the events), naming the attempt that caused it:
 * the lease's for RUNNING, else the quantum's last attempt then (its outcome
 * set), if any.
 */
function quantumEventJson({ c, row, state, ts, attempts }: QuantumChange): string {
  let json = `{"kind":"quantum","campaign":${str(c.name)},"quantum":${str(c.rows.id(row))},"task":${str(c.rows.task(row))},"state":${str(state)},"ts":${ts}`;
  const a = c.rows.run(row)?.attempts[state === "RUNNING" ? attempts : attempts - 1];
  if (a) {
    json += `,"attempt":${a.number},"site":${str(a.site)},"agent":${str(a.agent)}`;
    if (a.outcome !== "" && state !== "RUNNING") json += `,"outcome":${str(a.outcome)}`;
  }
  return `${json}}`;
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}
