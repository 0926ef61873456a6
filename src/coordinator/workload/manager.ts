// The workload manager: one actor (a mailbox) owns every campaign and quantum
// of this coordinator. Each handler changes the in-memory indexes, persists
// what changed to Redis, and only then answers or emits.
import { Mailbox } from "../../common/mailbox.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CampaignSpec, PlannedGraph } from "../campaign/index.js";
import type { QuantaStore } from "./quanta-store.js";
import { CampaignTable, groupByCampaign, type LiveCampaign } from "./campaign-table.js";
import { selectQuanta, type AgentSlot, type SchedulingOptions } from "./scheduler.js";
import { LocalityFeed, type CacheReport, type ReplicaEvent } from "./locality-feed.js";
import { buildExpansion, type Expansion } from "./quantum-builder.js";
import { settleRows } from "./quantum-links.js";
import { resolvedDefinitions } from "./definition-lookup.js";
import { campaignStateOf, expireLeases, type AttemptReport, type ResultContext } from "./attempt-results.js";
import { ProgressJournal } from "./progress-journal.js";
import type { EventSink } from "./event-collector.js";
import { DeferredExpander } from "./deferred-expander.js";
import { findReusable, type CatalogSource } from "./reuse-lookup.js";
import { newCampaignRecord, progressToStore, setFirstStates } from "./initial-progress.js";
import type { QuantumDefinition } from "./model.js";
import { isLiveCampaign } from "./campaign-state.js";
import { attemptCount, campaignsOf, inspectionOf, listQuanta, reportOf, specOf, statusView, type CampaignInspection, type CampaignReport, type CampaignStatusView, type QuantumListing } from "./campaign-queries.js";
import type { AgentCapacity } from "./unschedulable.js";
import { cancelCampaign, pauseCampaign, resumeCampaign, setCampaignPriority, type CancelledLease, type ControlContext } from "./campaign-control.js";
import { prestageTurn, type PrestageOrder, type PrestageSite, type PrestageTurnOptions } from "./prestage-plan.js";
import type { PrestageLedger } from "./prestage-ledger.js";
import { pushBackDeadlines, undoLeases, type LeaseMade } from "./lease-recovery.js";
import { applyReport, type IntakeContext } from "./result-intake.js";
import { OutputSettler } from "./output-settler.js";
import { isLateLease, reopenLease } from "./late-result.js";
import { siteDemand, type PilotShape, type SiteDemand } from "./site-demand.js";
import { TicketDesk } from "./ticket-desk.js";
import type { WorkloadObserver } from "./workload-observer.js";

export type { AttemptReport } from "./attempt-results.js";
export type { CatalogSource } from "./reuse-lookup.js";
export type { CancelledLease } from "./campaign-control.js";
export type { CampaignInspection, CampaignStatusView, QuantumListing, RowsView } from "./campaign-queries.js";
export type { AgentCapacity } from "./unschedulable.js";

export interface LeaseGrant {
  campaign: LiveCampaign;
  /** What the quantum is, its inputs pointed at what their makers produced. */
  quantum: QuantumDefinition;
  memoryMB: number;
  leaseId: string;
  attempt: number;
  deadlineMs: number;
}

export class WorkloadManager {
  private readonly table = new CampaignTable();
  private readonly mailbox = new Mailbox();
  private readonly journal: ProgressJournal;
  private readonly expander: DeferredExpander;
  private readonly results: ResultContext;
  private readonly locality: LocalityFeed;
  private readonly control: ControlContext;
  private readonly intake: IntakeContext;
  private readonly settler: OutputSettler;
  /** Tickets of FAILED quanta and the operator's retry (ticket-desk.ts). */
  readonly tickets: TicketDesk;
  /** Results waiting for the next dispatch turn. */
  private reports: { agentId: string; report: AttemptReport; resolve: () => void; reject: (err: Error) => void }[] = [];
  /** Agents' requests for work waiting for the next dispatch turn. */
  private leaseRequests: { agent: AgentSlot; opts: Partial<SchedulingOptions>; resolve: (grants: LeaseGrant[]) => void; reject: (err: Error) => void }[] = [];
  private dispatchQueued = false;

  constructor(
    private readonly store: QuantaStore,
    private readonly log: Logger,
    private readonly leaseTtlMs: number,
    /** Called after quanta became READY, so the dispatcher offers them to agents. */
    private readonly onWork: () => void,
    /** The DBB catalog: whether reusable outputs are still there; inputs of deferred tasks. */
    private readonly catalog: CatalogSource,
    /** Memory of the largest connected agent (an out-of-memory retry never asks for more). */
    largestAgentMemoryMB: () => number | undefined = () => undefined,
    /** Told of stored attempt ends; reads the indexes at scrape time (metrics). */
    observer?: WorkloadObserver,
    /** Where events of stored changes go (orrery.events.…); none: no events. */
    events?: EventSink,
  ) {
    this.journal = new ProgressJournal(store, this.table, events);
    this.locality = new LocalityFeed(this.table, catalog, log);
    this.expander = new DeferredExpander({ table: this.table, store, catalog, log, onWork, send: (h) => this.mailbox.send(h), stored: (c) => this.journal.storedCampaign(c) });
    this.results = { table: this.table, journal: this.journal, log, onWork, onDone: (name) => this.expander.wake(name), largestAgentMemoryMB, observer };
    this.control = { table: this.table, journal: this.journal, log, observer };
    observer?.attach(this.table);
    this.tickets = new TicketDesk({ ...this.control, journal: this.journal, send: (h) => this.mailbox.send(h), persist: () => this.persist(), onWork });
    this.settler = new OutputSettler(catalog.settleOutputs?.bind(catalog), store, log);
    // Settled once the success is stored: a crash before leaves the other replicas, and the lease to report again.
    this.intake = { ...this.results, leaseTtlMs, settle: (campaign, quantum, kept) => this.journal.afterPersist(() => this.settler.add(campaign, quantum, kept)) };
  }

  async load(): Promise<void> {
    const now = Date.now();
    const rsesKnown = await this.locality.loadRses();
    let quanta = 0;
    const unreadable = (campaign: string, why: string) => this.log.error({ campaign }, `campaign not loaded: ${why}`);
    for (const stored of await this.store.loadAll(unreadable)) {
      const spec = JSON.parse(stored.record.specJson) as CampaignSpec;
      const live = this.table.addCampaign(stored.record, spec, undefined, stored.tickets);
      const rows = live.rows;
      for (const batch of stored.batches) this.table.appendRows(live, batch);
      // No record: still in its first state.
      setFirstStates(rows, 0);
      await this.store.scanProgress(live.name, (id, progress) => {
        const row = rows.rowOf(id);
        if (row === undefined) return;
        // Leases survive a restart: their agents get one TTL to reconnect and report.
        if (progress.lease) progress.lease.deadlineMs = now + this.leaseTtlMs;
        rows.restore(row, progress);
        // A crash may have come between a re-run's stored success and the settling of its outputs: settled again.
        if (progress.state === "SUCCEEDED" && progress.attempts.length > 1) this.settler.add(live.name, id, progress.produced);
        this.locality.restoreProduced(live, row, progress.produced, progress.attempts[progress.attempts.length - 1]?.site);
      });
      this.table.addRows(live, 0);
      quanta += rows.length;
      // A deferred expansion a crash interrupted runs now.
      this.expander.wake(live.name);
    }
    this.log.info({ campaigns: this.table.campaigns.size, quanta }, "state loaded");
    // Where the inputs of live campaigns are: asked of the DBB after start-up, not before it.
    this.refreshLocality(rsesKnown).catch((err: unknown) => this.log.warn({ err }, "could not read where live campaigns' inputs are; they are scheduled without locality until the DBB's next events"));
  }

  /** Reads the replicas of every live campaign's inputs from the DBB (start-up, or after it was unreachable). */
  private async refreshLocality(rsesKnown: boolean): Promise<void> {
    if (!rsesKnown && !(await this.locality.loadRses())) return;
    // Which campaigns and what they read: asked of the mailbox; the DBB reads happen outside it.
    const live = await this.mailbox.send(async () => [...this.table.campaigns.values()].filter((c) => isLiveCampaign(c.state)).map((c) => ({ name: c.name, spec: c.spec })));
    for (const { name, spec } of live) {
      await this.locality.refreshCampaign(spec, (apply) => this.mailbox.send(async () => apply())).catch((err: unknown) =>
        this.log.warn({ err, campaign: name }, "could not read the replicas of a campaign's inputs; it is scheduled without locality"),
      );
    }
    this.onWork();
  }

  /** Replica events from the DBB: inputs that became AVAILABLE somewhere (or stopped being). */
  replicaEvents(events: readonly ReplicaEvent[]): Promise<void> {
    return this.mailbox.send(async () => {
      if (!this.locality.replicaEvents(events)) return;
      // An RSE added since start-up: learn its site, then apply the events again.
      if (await this.locality.loadRses()) this.locality.replicaEvents(events);
    });
  }

  /** What an agent said of its LMDB cache. */
  agentCache(agent: string, report: CacheReport): Promise<void> {
    return this.mailbox.send(async () => this.locality.agentCache(agent, report));
  }

  /** An agent disconnected: its cache no longer attracts work. */
  agentGone(agent: string): Promise<void> {
    return this.mailbox.send(async () => this.locality.agentGone(agent));
  }

  /** One pre-staging turn (prestage-plan.ts): the pre-stager's ledger is pruned, and the picks booked in it, in this mailbox turn. */
  prestage(sites: readonly PrestageSite[], ledger: PrestageLedger, opts: PrestageTurnOptions): Promise<PrestageOrder[]> {
    return this.mailbox.send(async () => prestageTurn(this.table, sites, ledger, opts, Date.now()));
  }

  /** The ready work one pilot of this shape could run at its site (site-demand.ts). */
  siteDemand(pilot: PilotShape): Promise<SiteDemand> {
    return this.mailbox.send(async () => siteDemand(this.table, pilot));
  }

  /** Status of every campaign, or of the one named; NOT_FOUND when there is none. */
  status(name: string | undefined, agents: readonly AgentCapacity[]): Promise<CampaignStatusView[]> {
    return this.mailbox.send(async () => this.campaigns(name).map((c) => statusView(c, agents)));
  }

  /** A campaign's validated spec (its resolved config with history). */
  spec(name: string): Promise<CampaignSpec> {
    return this.mailbox.send(async () => specOf(this.table, name) ?? this.notFound(name));
  }

  /** A campaign's quanta, filtered by state and task, with definitions and attempts. */
  quanta(name: string, filter: { state?: string; task?: string }): Promise<QuantumListing[]> {
    return this.mailbox.send(() => listQuanta(this.store, this.campaigns(name)[0]!, filter));
  }

  accounting(name: string): Promise<CampaignReport> {
    return this.mailbox.send(async () => reportOf(this.campaigns(name)[0]!));
  }

  /** How many attempts a quantum has made; undefined for a quantum this coordinator does not have. */
  attempts(quantum: string): Promise<number | undefined> {
    return this.mailbox.send(() => attemptCount(this.store, this.table, quantum));
  }

  /** A campaign's in-memory indexes, typed read-only (diagnostics, the store's conformance tests); undefined when there is none. */
  inspect(name: string): Promise<CampaignInspection | undefined> {
    return this.mailbox.send(async () => {
      const c = campaignsOf(this.table, name)?.[0];
      return c && inspectionOf(c);
    });
  }

  private campaigns(name: string | undefined): LiveCampaign[] {
    return campaignsOf(this.table, name) ?? this.notFound(name ?? "");
  }

  private notFound(name: string): never {
    throw new OrreryError(ErrorCode.NOT_FOUND, `no campaign named ${name}`, { hint: "see `orrery status` for the campaigns there are" });
  }

  /**
   * Stores and queues a campaign, replacing an ended one of the same name.
   * With `reuse`, quanta identical to ones that already succeeded, whose
   * outputs are still there, are SKIPPED and their consumers read those outputs.
   */
  submit(spec: CampaignSpec, graph: PlannedGraph): Promise<{ campaign: string; quanta: number }> {
    let expansion: Expansion;
    try {
      this.refuseLive(spec.name);
      expansion = buildExpansion(spec, graph);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.submitExpansion(spec, expansion);
  }

  private async submitExpansion(spec: CampaignSpec, expansion: Expansion): Promise<{ campaign: string; quanta: number }> {
    const reused = await findReusable(this.store, this.catalog, spec, expansion);
    // RSEs may have been added since start-up: the expansion's replicas are placed by their sites.
    await this.locality.loadRses();
    // The definitions go to Redis outside the mailbox: leases and results go on meanwhile.
    // They are the new generation's, invisible until the commit names them.
    const record = newCampaignRecord(spec, Date.now());
    let committed = false;
    try {
      await this.store.writeDefinitions(record, expansion);
      return await this.mailbox.send(async () => {
        this.refuseLive(spec.name);
        // Its rows and state, worked out on a scratch table before anything is stored.
        const scratch = new CampaignTable(this.table.replicas, this.table.clock);
        const view = scratch.addCampaign(record, spec);
        scratch.appendRows(view, expansion);
        settleRows(view.rows, 0, expansion.count, reused);
        scratch.addRows(view, 0);
        record.state = campaignStateOf(view);
        if (record.state === "SUCCEEDED" || record.state === "FAILED") record.finishedMs = record.createdMs;
        await this.store.commitCampaign(record, view.rows.ranges, progressToStore(view.rows, 0), expansion);
        committed = true;
        for (const row of reused.keys()) view.rows.dropFinishedRun(row);
        this.table.removeCampaign(spec.name);
        const live = this.table.addCampaign(record, spec, view.rows);
        this.table.addRows(live, 0);
        this.journal.submitted(live);
        this.log.info({ campaign: spec.name, quanta: expansion.count, ready: live.ready.size, skipped: reused.size, deferred: record.tasks.length - record.expanded.length }, "campaign submitted");
        this.onWork();
        this.expander.wake(spec.name);
        return { campaign: spec.name, quanta: expansion.count };
      });
    } finally {
      if (!committed) await this.store.dropDefinitions(record).catch((err: unknown) => this.log.warn({ err, campaign: spec.name }, "could not drop the definitions of a submit that was not stored"));
    }
  }

  private refuseLive(name: string): void {
    const existing = this.table.campaigns.get(name);
    if (existing && isLiveCampaign(existing.state)) {
      throw new OrreryError(ErrorCode.ALREADY_EXISTS, `campaign ${name} is still ${existing.state}`, {
        hint: "wait for it to end, cancel it, or give the new one another name",
      });
    }
  }

  /**
   * Picks quanta for an agent's free slot and marks them RUNNING (persisted
   * before the leases go out). Their definitions are read first: if Redis
   * cannot give them, nothing changes. Requests and results that arrive
   * while a dispatch turn is queued or running share the next one: one
   * transaction for all of them.
   */
  lease(agent: AgentSlot, opts: Partial<SchedulingOptions> = {}): Promise<LeaseGrant[]> {
    return new Promise((resolve, reject) => {
      this.leaseRequests.push({ agent, opts, resolve, reject });
      this.queueDispatch();
    });
  }

  private async leaseTo(agent: AgentSlot, opts: Partial<SchedulingOptions>, made: LeaseMade[]): Promise<LeaseGrant[]> {
    const picked = selectQuanta(this.table, agent, Date.now(), opts);
    const definitions = new Map<LiveCampaign, Map<number, QuantumDefinition>>();
    for (const [c, rows] of groupByCampaign(picked)) {
      const list = await resolvedDefinitions(this.store, c, rows);
      definitions.set(c, new Map(rows.map((r, i) => [r, list[i]!])));
    }
    const now = Date.now();
    const grants: LeaseGrant[] = [];
    for (const { c, row } of picked) {
      const q = definitions.get(c)!.get(row)!;
      made.push({ c, row, readySince: c.ready.since(row), hadRun: c.rows.run(row) !== undefined });
      const run = c.rows.runOf(row);
      const attempt = run.attempts.length + 1;
      const leaseId = `${q.id}#${attempt}`;
      const deadlineMs = now + this.leaseTtlMs;
      this.table.transition(c, row, "leased");
      c.rows.setLease(row, { id: leaseId, agent: agent.id, deadlineMs });
      run.attempts.push({ number: attempt, agent: agent.id, site: agent.site, kind: agent.kind, leaseId, outcome: "", exitCode: 0, message: "", startMs: now, endMs: 0 });
      this.journal.touch(c, row);
      grants.push({ campaign: c, quantum: q, memoryMB: c.rows.memoryMB(row), leaseId, attempt, deadlineMs });
    }
    return grants;
  }

  /**
   * An attempt's result. Returns once it is persisted (the agent may then
   * forget it). Results that arrive while a turn is queued or running are
   * handled together in the next turn: one transaction for all of them.
   */
  report(agentId: string, r: AttemptReport): Promise<void> {
    return new Promise((resolve, reject) => {
      this.reports.push({ agentId, report: r, resolve, reject });
      this.queueDispatch();
    });
  }

  private queueDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    this.mailbox
      .send(() => {
        this.dispatchQueued = false;
        return this.dispatchTurn();
      })
      .catch((err: unknown) => this.log.error({ err }, "a dispatch turn failed; the next request or result starts another"));
  }

  /**
   * One turn for the results and lease requests waiting: results first (they
   * may make quanta READY and free what agents hold), then each request in
   * arrival order, then one transaction; answers only after it is stored.
   */
  private async dispatchTurn(): Promise<void> {
    const handled = this.reportTurn();
    const requests = this.leaseRequests;
    this.leaseRequests = [];
    const granted: { resolve: (grants: LeaseGrant[]) => void; grants: LeaseGrant[] }[] = [];
    const made: LeaseMade[] = [];
    for (const q of requests) {
      try {
        granted.push({ resolve: q.resolve, grants: await this.leaseTo(q.agent, q.opts, made) });
      } catch (err) {
        q.reject(err as Error);
      }
    }
    // A result is acknowledged once stored: if not in this flush, in the first one that works.
    for (const p of handled) this.journal.afterPersist(p.resolve);
    try {
      await this.persist();
    } catch (err) {
      // Nothing goes out that is not stored: the leases are taken back, the agents ask again.
      undoLeases(this.table, made);
      for (const q of requests) q.reject(err as Error);
      if (made.length > 0) this.log.warn({ err, leases: made.length }, "leases not stored; taken back");
      return;
    }
    for (const g of granted) g.resolve(g.grants);
  }

  /**
   * Flushes the journal (probing the store when it had been failing and
   * nothing is to be written). When that ends an outage of the store, every
   * lease gets its deadline pushed back by the outage's length, and at least
   * one TTL from now: agents are not lost for the coordinator's outage.
   */
  private async persist(): Promise<void> {
    const outageMs = await this.journal.flush();
    if (outageMs === 0) return;
    const leases = pushBackDeadlines(this.table, outageMs, Date.now(), this.leaseTtlMs);
    this.log.warn({ outageMs, leases }, "the store is back; lease deadlines pushed back by the outage");
  }

  /**
   * Renews the leases an agent says it is still running. Returns those it
   * holds that are no longer current (cancelled, or expired and leased
   * again): the agent should stop them; and those another agent holds
   * (`foreign`): a lease id goes to one agent only, so naming one is forged.
   */
  renew(agentId: string, leaseIds: readonly string[]): Promise<{ stale: string[]; foreign: string[] }> {
    return this.mailbox.send(async () => {
      const deadline = Date.now() + this.leaseTtlMs;
      const stale: string[] = [];
      const foreign: string[] = [];
      let reopened = 0;
      for (const id of leaseIds) {
        const ref = this.table.find(id.slice(0, id.lastIndexOf("#")));
        const lease = ref?.c.rows.run(ref.row)?.lease;
        if (lease?.id === id && lease.agent !== agentId) foreign.push(id);
        else if (lease?.id === id) lease.deadlineMs = deadline;
        else if (ref && !lease && isLateLease(ref.c, ref.row, agentId, id)) {
          // Declared lost, but its agent still runs it and nobody else holds the quantum: it goes on.
          reopenLease(this.results, ref.c, ref.row, agentId, id, deadline);
          reopened++;
        } else if (ref) stale.push(id);
      }
      if (reopened > 0) {
        this.log.warn({ agent: agentId, leases: reopened }, "leases declared lost are still running at their agent; reopened");
        // Stored with the next flush that works if not now; the agent keeps running them either way.
        await this.persist().catch((err: unknown) => this.log.warn({ err }, "reopened leases not stored yet"));
      }
      // An agent naming another's lease has its stream closed by the agent link.
      return { stale, foreign };
    });
  }

  /** Starts nothing new of the campaign until it is resumed; persisted before it answers. */
  pause(name: string): Promise<{ campaign: string; state: string }> {
    return this.mailbox.send(async () => {
      const c = pauseCampaign(this.control, name);
      await this.persist();
      return { campaign: c.name, state: c.state };
    });
  }

  /** Makes the campaign schedulable again and offers its work at once. */
  resume(name: string): Promise<{ campaign: string; state: string }> {
    return this.mailbox.send(async () => {
      const c = resumeCampaign(this.control, name);
      await this.persist();
      if (c.ready.size > 0) this.onWork();
      this.expander.wake(c.name);
      return { campaign: c.name, state: c.state };
    });
  }

  /**
   * Cancels every quantum that has not ended well. The quanta are stored
   * before the campaign record: a crash between leaves a RUNNING campaign
   * with nothing open, and the cancel (never acknowledged) can be repeated.
   * Returns the leases taken back, for their agents to stop.
   */
  cancel(name: string): Promise<{ campaign: string; state: string; leases: CancelledLease[] }> {
    return this.mailbox.send(async () => {
      const { campaign: c, leases } = cancelCampaign(this.control, name, Date.now());
      await this.persist();
      this.log.info({ campaign: c.name, leases: leases.length }, "campaign cancelled");
      return { campaign: c.name, state: c.state, leases };
    });
  }

  /** Changes a live campaign's priority; the next scheduling decision uses it. */
  setPriority(name: string, priority: number): Promise<{ campaign: string; priority: number }> {
    return this.mailbox.send(async () => {
      const c = setCampaignPriority(this.control, name, priority);
      await this.persist();
      if (c.state === "RUNNING" && c.ready.size > 0) this.onWork();
      return { campaign: c.name, priority: c.priority };
    });
  }

  /** Applies the waiting results in memory; returns those to answer once the turn is stored. */
  private reportTurn(): typeof this.reports {
    const batch = this.reports;
    this.reports = [];
    const handled: typeof batch = [];
    for (const p of batch) {
      const { agentId, report: r } = p;
      try {
        applyReport(this.intake, agentId, r);
        handled.push(p);
      } catch (err) {
        p.reject(err as Error);
      }
    }
    return handled;
  }

  /**
   * Leases past their deadline: the agent is lost; the quantum is killed, not
   * failed. Not while the store is failing: the outage is the coordinator's,
   * and when it ends the deadlines are pushed back (persist()).
   */
  expire(): Promise<void> {
    return this.mailbox.send(async () => {
      if (this.journal.storeFailingSince !== undefined) {
        try {
          await this.persist();
        } catch {
          return; // still down: no lease expires, nothing else changes
        }
      }
      const now = Date.now();
      this.expander.retryDue(now);
      this.settler.kick();
      expireLeases(this.results, now);
      await this.persist();
    });
  }
}
