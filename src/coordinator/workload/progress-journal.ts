// What a manager handler changed, written to Redis in one transaction before
// the handler answers: quantum progress, identity records of quanta that
// succeeded, attempt records (logs, provenance), campaign records. A flush
// that fails keeps what it held for the next one (memory stays ahead of
// Redis only until then), and the journal remembers since when the store
// has been failing: the manager does not expire leases meanwhile. Tickets
// opened or closed go in the same transaction. The events of what it holds
// (event-collector.ts), tickets' included, are published on NATS once stored.
import type { AttemptRecords, ProgressWrite, QuantaStore } from "./quanta-store.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { IdentityRecord, QuantumProgress, TicketRecord } from "./model.js";
import { identityRecord } from "./reuse.js";
import type { TicketSink } from "./tickets.js";
import { EventCollector, type EventSink, type TicketChange } from "./event-collector.js";

export class ProgressJournal implements TicketSink {
  /** Touched rows by campaign. */
  private rows = new Map<LiveCampaign, Set<number>>();
  private identities = new Map<LiveCampaign, Map<string, IdentityRecord>>();
  private readonly campaigns = new Set<string>();
  private attempts: AttemptRecords[] = [];
  /** Tickets to store, by campaign and quantum (the last change of each wins). */
  private tickets = new Map<string, { ticket: TicketRecord; change: "opened" | "closed" }>();
  /** Answers waiting for the changes they depend on to be stored. */
  private waiters: (() => void)[] = [];
  /** When the store started failing (ms); undefined while it works. */
  private failingSince: number | undefined;

  /** The events of what is held, published once it is stored (none without a sink). */
  private readonly events: EventCollector | undefined;

  constructor(
    private readonly store: QuantaStore,
    private readonly table: CampaignTable,
    sink?: EventSink,
  ) {
    if (sink) table.observer = this.events = new EventCollector(sink, table.clock);
  }

  /** The quantum's progress changed. */
  touch(c: LiveCampaign, row: number): void {
    (this.rows.get(c) ?? this.rows.set(c, new Set()).get(c)!).add(row);
  }

  /** The quantum succeeded: its identity now stands for its outputs. */
  succeeded(c: LiveCampaign, row: number): void {
    this.touch(c, row);
    (this.identities.get(c) ?? this.identities.set(c, new Map()).get(c)!).set(c.rows.identity(row), identityRecord(c, row));
  }

  /** An attempt ended: its logs and provenance go with the progress it changed. */
  attemptEnded(records: AttemptRecords): void {
    this.attempts.push(records);
  }

  /** A quantum FAILED: its ticket is stored with the progress that failed it. */
  ticketOpened(ticket: TicketRecord): void {
    this.tickets.set(`${ticket.campaign}\n${ticket.quantum}`, { ticket, change: "opened" });
    this.ticket({ campaign: ticket.campaign, quantum: ticket.quantum, task: ticket.task, state: "open", outcome: ticket.outcome });
  }

  /** A ticket's quantum succeeded (or was cancelled). */
  ticketClosed(ticket: TicketRecord): void {
    this.tickets.set(`${ticket.campaign}\n${ticket.quantum}`, { ticket, change: "closed" });
    this.ticket({ campaign: ticket.campaign, quantum: ticket.quantum, task: ticket.task, state: "closed", outcome: ticket.outcome });
  }

  /** The campaign's record (state, expanded tasks) changed. */
  touchCampaign(name: string): void {
    this.campaigns.add(name);
    const c = this.table.campaigns.get(name);
    if (c) this.events?.campaign(c);
  }

  /** A campaign was submitted and stored: its first event (published with the next flush). */
  submitted(c: LiveCampaign): void {
    this.events?.submitted(c);
  }

  /** The campaign's record was stored by someone else (a deferred expansion): an event if its state changed. */
  storedCampaign(c: LiveCampaign): void {
    this.events?.campaign(c);
  }

  /** A ticket opened or closed with the changes held now: published on orrery.events.ticket.<campaign> once they are stored. */
  private ticket(e: TicketChange): void {
    this.events?.ticket(e);
  }

  /** Calls `done` once the changes held now are stored (at the next flush that succeeds). */
  afterPersist(done: () => void): void {
    this.waiters.push(done);
  }

  /** Since when the store has been failing (ms), or undefined when the last write worked. */
  get storeFailingSince(): number | undefined {
    return this.failingSince;
  }

  /**
   * Stores what changed, all or nothing. On failure everything stays held for
   * the next flush and the error is thrown. While the store is failing, a
   * flush with nothing to write pings it (a recovery is seen without changes). Returns
   * how long the store had been failing when this flush ended an outage (0 otherwise).
   */
  async flush(): Promise<number> {
    const rows = this.rows;
    const identities = this.identities;
    const attempts = this.attempts;
    const names = new Set(this.campaigns);
    const waiters = this.waiters;
    const tickets = this.tickets;
    this.tickets = new Map();
    this.rows = new Map();
    this.identities = new Map();
    this.attempts = [];
    this.waiters = [];
    const progress: ProgressWrite[] = [];
    for (const c of new Set([...rows.keys(), ...identities.keys()])) {
      const updates = new Map<string, QuantumProgress>();
      for (const row of rows.get(c) ?? []) updates.set(c.rows.id(row), c.rows.progress(row));
      progress.push({ campaign: c.name, updates, identities: identities.get(c) });
    }
    const campaigns = [...names].flatMap((name) => this.table.campaigns.get(name) ?? []);
    this.campaigns.clear();
    const ticketRecords = [...tickets.values()].map((t) => t.ticket);
    const events = this.events?.take() ?? [];
    try {
      if (progress.length + attempts.length + campaigns.length + ticketRecords.length > 0) await this.store.saveChanges({ progress, attempts, campaigns, tickets: ticketRecords });
      else if (this.failingSince !== undefined) await this.store.ping();
    } catch (err) {
      this.keep(rows, identities, attempts, names, waiters);
      for (const [k, t] of tickets) if (!this.tickets.has(k)) this.tickets.set(k, t);
      this.events?.putBack(events);
      this.failingSince ??= Date.now();
      throw err;
    }
    for (const [c, touched] of rows) for (const row of touched) c.rows.dropFinishedRun(row);
    const outageMs = this.failingSince === undefined ? 0 : Date.now() - this.failingSince;
    this.failingSince = undefined;
    this.events?.publish(events);
    for (const done of waiters) done();
    return outageMs;
  }

  /** Puts back what a failed flush held, under what was journaled since. */
  private keep(rows: Map<LiveCampaign, Set<number>>, identities: Map<LiveCampaign, Map<string, IdentityRecord>>, attempts: AttemptRecords[], names: Set<string>, waiters: (() => void)[]): void {
    for (const [c, set] of rows) for (const row of set) this.touch(c, row);
    for (const [c, map] of identities) {
      const mine = this.identities.get(c) ?? this.identities.set(c, new Map()).get(c)!;
      for (const [k, v] of map) if (!mine.has(k)) mine.set(k, v);
    }
    this.attempts = [...attempts, ...this.attempts];
    for (const n of names) this.campaigns.add(n);
    this.waiters = [...waiters, ...this.waiters];
  }
}
