// Expands deferred tasks once their upstream quanta are done: the catalog is
// what those quanta produced (plus the DBB for types no task makes), the new
// quanta are built, checked for reuse, persisted, and join the campaign.
// Reading the campaign and applying the result run in the manager's mailbox;
// the catalog query and planning in between do not hold it.
import type { Logger } from "../../common/logger.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { expandGraph, catalogFromFiles, catalogTypes, expansionSpec, producedInputTypes, tasksToExpand, type CatalogFile, type CampaignSpec } from "../campaign/index.js";
import type { QuantaStore } from "./quanta-store.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { ProducedReplica } from "./model.js";
import { settleCampaign, taskDone } from "./attempt-results.js";
import { addProduced, makerTasks, producedCatalog, type DoneQuantum } from "./deferred-catalog.js";
import { buildExpansion, type Expansion } from "./quantum-builder.js";
import { settleRows } from "./quantum-links.js";
import { isDone } from "./quantum-state.js";
import { progressToStore } from "./initial-progress.js";
import { findReusable, type CatalogSource } from "./reuse-lookup.js";

export interface ExpanderDeps {
  table: CampaignTable;
  store: QuantaStore;
  catalog: CatalogSource;
  log: Logger;
  /** Runs a handler in the manager's mailbox. */
  send: <T>(handler: () => Promise<T> | T) => Promise<T>;
  onWork: () => void;
  /** The campaign's record was stored here (its state may have changed): the journal's events. */
  stored?: (c: LiveCampaign) => void;
}

interface Prepared {
  c: LiveCampaign;
  tasks: string[];
  spec: CampaignSpec;
  /** Dataset types the tasks read from quanta of the campaign. */
  types: string[];
  /** The done quanta that made them (their definitions and replicas are read from Redis). */
  done: { row: number; id: string }[];
  /** The campaign's rows when prepared: the new ones follow. */
  firstRow: number;
  dbbTypes: string[];
}

type Planned = { expansion: Expansion; reused: Map<number, ProducedReplica[]> } | { error: string };

/** Done quanta whose definitions and replicas are read per Redis round. */
const READ_BATCH = 5000;
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
    const reads = new Set(spec.tasks.flatMap((t) => Object.values(t.inputs).map((i) => i.datasetType)));
    const types = producedInputTypes(c.spec, tasks);
    const done: Prepared["done"] = [];
    for (const task of makerTasks(c.spec, types)) {
      for (const row of c.rows.rowsOf(task)) {
        if (isDone(c.rows.state(row))) done.push({ row, id: c.rows.id(row) });
      }
    }
    return { c, tasks, spec, types, done, firstRow: c.rows.length, dbbTypes: catalogTypes(c.spec).filter((t) => reads.has(t)) };
  }

  private async plan(prep: Prepared): Promise<Planned> {
    const { store } = this.deps;
    const produced = producedCatalog([], prep.types);
    for (let i = 0; i < prep.done.length; i += READ_BATCH) {
      const batch = prep.done.slice(i, i + READ_BATCH);
      const ids = batch.map((d) => d.id);
      const [definitions, progress] = await Promise.all([store.getDefinitions(prep.c, ids), store.getProgress(prep.c.name, ids)]);
      addProduced(produced, batch.map((d, k): DoneQuantum => ({ row: d.row, definition: definitions[k]!, produced: progress.get(d.id)?.produced ?? [] })));
    }
    const catalog = new Map<string, CatalogFile[]>(produced.catalog);
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
    const expansion = buildExpansion(prep.spec, graph, { firstRow: prep.firstRow, madeBy: produced.madeBy });
    // Written here, outside the mailbox; invisible until apply commits the ranges that name them.
    await store.writeDefinitions(prep.c, expansion);
    // expansionSpec keeps the campaign's `reuse`.
    const reused = await findReusable(this.deps.store, this.deps.catalog, prep.spec, expansion);
    return { expansion, reused };
  }

  /** Adds the new quanta to the campaign; false when the campaign moved on meanwhile (replaced, cancelled, expanded). */
  private async apply(prep: Prepared, planned: Planned): Promise<boolean> {
    const { c, tasks } = prep;
    const { table, log } = this.deps;
    if (table.campaigns.get(c.name) !== c) {
      // Replaced meanwhile: what plan wrote for it may have landed after the replacement dropped its definitions.
      if ("expansion" in planned && table.campaigns.get(c.name)?.generation !== c.generation) await this.deps.store.dropDefinitions(c);
      return false;
    }
    if (c.state === "CANCELLED" || c.rows.length !== prep.firstRow || tasks.some((t) => c.expanded.includes(t))) return false;
    c.expanded.push(...tasks);
    if ("error" in planned) {
      log.error({ campaign: c.name, tasks, error: planned.error }, "deferred expansion failed; the campaign fails");
      c.expansionError = planned.error;
      settleCampaign(log, c);
      await this.deps.store.saveExpansion(c, c.rows.ranges, new Map());
      this.deps.stored?.(c);
      return false;
    }
    const { expansion, reused } = planned;
    const first = table.appendRows(c, expansion);
    const end = c.rows.length;
    settleRows(c.rows, first, end, new Map([...reused].map(([i, p]) => [first + i, p])));
    table.addRows(c, first, end);
    settleCampaign(log, c);
    await this.deps.store.saveExpansion(c, c.rows.ranges, progressToStore(c.rows, first, end), { first, batch: expansion });
    this.deps.stored?.(c);
    for (const row of reused.keys()) c.rows.dropFinishedRun(first + row);
    log.info({ campaign: c.name, tasks, quanta: expansion.count, skipped: reused.size }, "deferred tasks expanded");
    if (c.ready.size > 0) this.deps.onWork();
    return true;
  }
}
