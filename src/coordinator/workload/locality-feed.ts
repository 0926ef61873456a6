// Keeps the replica index current: RSE sites and replica locations from the
// DBB (at submit, at start-up, on its replica events) and the agents' cache
// reports. Every method runs inside the manager's mailbox; the DBB reads
// happen before, so a slow or absent DBB only delays locality.
import type { Logger } from "../../common/logger.js";
import { catalogTypes, type CampaignSpec } from "../campaign/index.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { CatalogSource } from "./reuse-lookup.js";
import { isDone } from "./quantum-state.js";

export interface ReplicaEvent {
  did: string;
  rse: string;
  state: string;
}

/** What an agent says of its cache: all of it (hello), or what changed since. */
export interface CacheReport {
  all?: readonly string[];
  added: readonly string[];
  removed: readonly string[];
}

export class LocalityFeed {
  constructor(
    private readonly table: CampaignTable,
    private readonly catalog: CatalogSource,
    private readonly log: Logger,
  ) {}

  /** Reads which site each RSE belongs to; false when the DBB could not say. */
  async loadRses(): Promise<boolean> {
    if (!this.catalog.rseList) return false;
    try {
      for (const rse of await this.catalog.rseList()) this.table.replicas.setRseSite(rse.name, rse.site);
      return true;
    } catch (err) {
      this.log.warn({ err }, "could not read the RSE list from the DBB; scheduling without locality until it answers");
      return false;
    }
  }

  /** Reads a live campaign's catalog files from the DBB (the query its submit made) and places its ready rows anew. */
  async refreshCampaign(spec: CampaignSpec, send: (apply: () => void) => Promise<void>): Promise<void> {
    const types = catalogTypes(spec);
    if (types.length === 0) return;
    const files = await this.catalog.files(spec.data.scope, types);
    await send(() => {
      const replicas = this.table.replicas;
      const changed: number[] = [];
      for (const { file, replicas: list } of files) {
        const f = file ? replicas.lookup(`${file.scope}:${file.name}`) : undefined;
        if (f === undefined) continue;
        if (replicas.setReplicas(f, list.filter((r) => r.state === "AVAILABLE").map((r) => r.rse))) changed.push(f);
      }
      for (const live of this.table.campaigns.values()) live.ready.replicasChanged(changed);
    });
  }

  /** Replica events from the DBB; returns whether an RSE was unknown (the caller reloads the RSE list and replays). */
  replicaEvents(events: readonly ReplicaEvent[]): boolean {
    const replicas = this.table.replicas;
    const changed: number[] = [];
    let unknownRse = false;
    for (const e of events) {
      const f = replicas.lookup(e.did);
      if (f === undefined) continue;
      if (!replicas.knowsRse(e.rse)) unknownRse = true;
      else if (replicas.setReplica(f, e.rse, e.state === "AVAILABLE")) changed.push(f);
    }
    if (changed.length > 0) for (const c of this.table.campaigns.values()) c.ready.replicasChanged(changed);
    return unknownRse;
  }

  agentCache(agent: string, report: CacheReport): void {
    const replicas = this.table.replicas;
    const added = report.all ? replicas.setCache(agent, report.all) : replicas.addCached(agent, report.added);
    if (report.all) for (const c of this.table.campaigns.values()) c.ready.dropAgent(agent);
    replicas.removeCached(agent, report.removed);
    const files = report.all ? [...replicas.cacheOf(agent)] : added;
    if (files.length > 0) for (const c of this.table.campaigns.values()) c.ready.cached(agent, files);
  }

  agentGone(agent: string): void {
    this.table.replicas.dropAgent(agent);
    for (const c of this.table.campaigns.values()) c.ready.dropAgent(agent);
  }

  /** Where a done row's outputs are: its last attempt's site, or for a reused row its replicas' site. */
  restoreProduced(c: LiveCampaign, row: number, produced: readonly { rse: string; bytes: number }[], site: string | undefined): void {
    if (!isDone(c.rows.state(row)) || produced.length === 0) return;
    const replicas = this.table.replicas;
    const n = site !== undefined ? replicas.site(site) : replicas.siteOfRse(produced[0]!.rse);
    if (n !== undefined) c.rows.locality.setProduced(row, n, produced.reduce((sum, p) => sum + p.bytes, 0));
  }
}
