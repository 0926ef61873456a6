// Expands deferred tasks once their upstream quanta are done: the catalog is
// what those quanta produced (plus the DBB for types no task makes), the new
// quanta are built, checked for reuse, persisted, and join the campaign.
// Reading the campaign and applying the result run in the manager's mailbox;
// the catalog query and planning in between do not hold it.
import type { Logger } from "../../common/logger.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { catalogFromFiles, catalogTypes } from "../campaign/catalog.js";
import { expansionSpec, producedInputTypes, tasksToExpand } from "../campaign/deferred.js";
import type { CampaignSpec } from "../campaign/spec.js";
import type { CoordinatorStore } from "../store/redis-store.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { ProducedReplica, Quantum } from "./model.js";
import { campaignStateOf, taskDone } from "./attempt-results.js";
import { producedCatalog, type ProducedCatalog } from "./deferred-catalog.js";
import { buildQuanta } from "./quantum-builder.js";
import { settleStates } from "./quantum-links.js";
import { progressToStore } from "./initial-progress.js";
import { findReusable, type CatalogSource } from "./reuse-lookup.js";

export interface ExpanderDeps {
  table: CampaignTable;
  store: CoordinatorStore;
  catalog: CatalogSource;
  log: Logger;
  /** Runs a handler in the manager's mailbox. */
  send: <T>(handler: () => Promise<T> | T) => Promise<T>;
  onWork: () => void;
}

interface Prepared {
  c: LiveCampaign;
  tasks: string[];
  spec: CampaignSpec;
  produced: ProducedCatalog;
  existing: Map<string, number>;
  dbbTypes: string[];
}

type Planned = { quanta: Quantum[]; reused: Map<string, ProducedReplica[]> } | { error: string };

/** How long to wait before trying again when the catalog could not be read. */
const RETRY_MS = 3000;

export class DeferredExpander {
  private readonly running = new Set<string>();
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly deps: ExpanderDeps) {}

  /** Starts expanding the campaign's deferred tasks that can be expanded now, if any (call in the mailbox). */
  wake(name: string): void {
    const c = this.deps.table.campaigns.get(name);
    if (!c || this.running.has(name) || c.state === "CANCELLED") return;
    if (tasksToExpand(c.spec, new Set(c.expanded), (t) => taskDone(c, t)).length === 0) return;
    this.running.add(name);
    this.run(name)
      .catch((err: unknown) => {
        this.deps.log.warn({ err, campaign: name }, "deferred expansion could not run; trying again");
        this.retryAt.set(name, Date.now() + RETRY_MS);
      })
      .finally(() => this.running.delete(name));
  }

  /** Campaigns whose expansion failed on I/O and whose wait is over (call in the mailbox). */
  retryDue(nowMs: number): void {
    for (const [name, at] of this.retryAt) {
      if (at > nowMs) continue;
      this.retryAt.delete(name);
      this.wake(name);
    }
  }

  private async run(name: string): Promise<void> {
    // One expansion can make the next one ready (its quanta all reused): go on until none is.
    for (;;) {
      const prep = await this.deps.send(() => this.prepare(name));
      if (!prep) return;
      const planned = await this.plan(prep);
      if (!(await this.deps.send(() => this.apply(prep, planned)))) return;
    }
  }

  private prepare(name: string): Prepared | undefined {
    const c = this.deps.table.campaigns.get(name);
    if (!c || c.state === "CANCELLED") return undefined;
    const tasks = tasksToExpand(c.spec, new Set(c.expanded), (t) => taskDone(c, t));
    if (tasks.length === 0) return undefined;
    const spec = expansionSpec(c.spec, tasks);
    const quanta = c.quantumIds.flatMap((id) => this.deps.table.quanta.get(id) ?? []);
    const reads = new Set(spec.tasks.flatMap((t) => Object.values(t.inputs).map((i) => i.datasetType)));
    const existing = new Map<string, number>();
    for (const q of quanta) existing.set(q.task, (existing.get(q.task) ?? 0) + 1);
    return {
      c,
      tasks,
      spec,
      produced: producedCatalog(quanta, producedInputTypes(c.spec, tasks)),
      existing,
      dbbTypes: catalogTypes(c.spec).filter((t) => reads.has(t)),
    };
  }

  private async plan(prep: Prepared): Promise<Planned> {
    const catalog = new Map<string, CatalogFile[]>(prep.produced.catalog);
    if (prep.dbbTypes.length > 0) {
      const files = await this.deps.catalog.files(prep.spec.data.scope, prep.dbbTypes);
      for (const [t, list] of catalogFromFiles(files, prep.dbbTypes)) catalog.set(t, list);
    }
    let graph;
    try {
      graph = expandGraph(prep.spec, catalog);
    } catch (err) {
      if (err instanceof OrreryError && err.code === ErrorCode.PLAN_ERROR) return { error: err.message };
      throw err;
    }
    const quanta = buildQuanta(prep.spec, graph, { existing: prep.existing, madeBy: prep.produced.madeBy });
    const reused = prep.c.spec.reuse ? await findReusable(this.deps.store, this.deps.catalog, quanta) : new Map<string, ProducedReplica[]>();
    return { quanta, reused };
  }

  /** Adds the new quanta to the campaign; false when the campaign moved on meanwhile (replaced, cancelled, expanded). */
  private async apply(prep: Prepared, planned: Planned): Promise<boolean> {
    const { c, tasks } = prep;
    const { table, log } = this.deps;
    if (table.campaigns.get(c.name) !== c || c.state === "CANCELLED" || tasks.some((t) => c.expanded.includes(t))) return false;
    c.expanded.push(...tasks);
    if ("error" in planned) {
      log.error({ campaign: c.name, tasks, error: planned.error }, "deferred expansion failed; the campaign fails");
      c.expansionError = planned.error;
      this.settleCampaign(c);
      await this.deps.store.saveExpansion(c, [], new Map());
      return false;
    }
    const { quanta, reused } = planned;
    const byId = new Map(quanta.map((q) => [q.id, q]));
    settleStates(quanta, reused, (id) => byId.get(id) ?? table.quanta.get(id));
    for (const q of quanta) {
      for (const u of q.upstream) if (!byId.has(u)) table.quanta.get(u)?.downstream.push(q.id);
      c.quantumIds.push(q.id);
      table.addQuantum(c, q);
    }
    this.settleCampaign(c);
    // Against the campaign's whole spec, as loading fills progress in from it.
    await this.deps.store.saveExpansion(c, quanta, progressToStore(c.spec, quanta));
    log.info({ campaign: c.name, tasks, quanta: quanta.length, skipped: reused.size }, "deferred tasks expanded");
    if (quanta.some((q) => q.progress.state === "READY")) this.deps.onWork();
    return true;
  }

  private settleCampaign(c: LiveCampaign): void {
    const next = campaignStateOf(c);
    if (next === c.state) return;
    c.state = next;
    if (next === "SUCCEEDED" || next === "FAILED") c.finishedMs = Date.now();
    this.deps.log.info({ campaign: c.name, state: next }, "campaign state");
  }
}
