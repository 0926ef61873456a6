// Coordinator state in Redis (`orrery:` keys). A campaign's quanta are written
// in pipelined batches before the campaign record, so a crash mid-submit
// leaves no visible half-campaign.
import { Redis } from "ioredis";
import type { CampaignRecord, IdentityRecord, QuantumDefinition, QuantumProgress } from "../workload/model.js";

const BATCH = 5000;
const K = {
  campaigns: "orrery:campaigns",
  campaign: (name: string) => `orrery:campaign:${name}`,
  definitions: (name: string) => `orrery:campaign:${name}:quanta`,
  progress: (name: string) => `orrery:campaign:${name}:progress`,
  log: (quantum: string, attempt: number) => `orrery:log:${quantum}:${attempt}`,
  provenance: (quantum: string, attempt: number) => `orrery:provenance:${quantum}:${attempt}`,
  // Not under a campaign's keys: it outlives the campaign runs that wrote it.
  identity: (hash: string) => `orrery:identity:${hash}`,
};

export interface StoredCampaign {
  record: Omit<CampaignRecord, "quantumIds">;
  definitions: QuantumDefinition[];
  progress: Map<string, QuantumProgress>;
}

export class CoordinatorStore {
  readonly redis: Redis;

  constructor(url: string) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: true });
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  async saveCampaign(record: CampaignRecord, definitions: QuantumDefinition[], progress: Map<string, QuantumProgress>): Promise<void> {
    await this.deleteCampaign(record.name);
    await this.saveQuanta(record.name, definitions, progress);
    const { quantumIds: _ids, ...fields } = record;
    await this.redis.multi().hset(K.campaign(record.name), campaignFields(fields)).sadd(K.campaigns, record.name).exec();
  }

  /** A deferred expansion: the new quanta in batches, then the campaign's expanded tasks and state. */
  async saveExpansion(record: Pick<CampaignRecord, "name" | "state" | "finishedMs" | "expanded" | "expansionError">, definitions: QuantumDefinition[], progress: Map<string, QuantumProgress>): Promise<void> {
    await this.saveQuanta(record.name, definitions, progress);
    await this.redis.hset(K.campaign(record.name), {
      state: record.state,
      finishedMs: record.finishedMs,
      expanded: JSON.stringify(record.expanded),
      expansionError: record.expansionError,
    });
  }

  private async saveQuanta(campaign: string, definitions: QuantumDefinition[], progress: Map<string, QuantumProgress>): Promise<void> {
    for (let i = 0; i < definitions.length; i += BATCH) {
      const p = this.redis.pipeline();
      for (const d of definitions.slice(i, i + BATCH)) {
        p.hset(K.definitions(campaign), d.id, JSON.stringify(d));
        p.hset(K.progress(campaign), d.id, JSON.stringify(progress.get(d.id)));
      }
      await p.exec();
    }
  }

  async deleteCampaign(name: string): Promise<void> {
    await this.redis.multi().srem(K.campaigns, name).del(K.campaign(name), K.definitions(name), K.progress(name)).exec();
  }

  async updateCampaign(record: Omit<CampaignRecord, "quantumIds" | "specJson" | "tasks">): Promise<void> {
    await this.redis.hset(K.campaign(record.name), {
      state: record.state,
      priority: record.priority,
      share: record.share,
      finishedMs: record.finishedMs,
      expanded: JSON.stringify(record.expanded),
      expansionError: record.expansionError,
    });
  }

  /** Progress of some quanta and, for those that succeeded, their identity records, in one transaction. */
  async saveProgress(campaign: string, updates: ReadonlyMap<string, QuantumProgress>, identities: ReadonlyMap<string, IdentityRecord> = new Map()): Promise<void> {
    if (updates.size === 0 && identities.size === 0) return;
    const fields: string[] = [];
    for (const [id, p] of updates) fields.push(id, JSON.stringify(p));
    const multi = this.redis.multi();
    if (fields.length > 0) multi.hset(K.progress(campaign), ...fields);
    for (const [hash, r] of identities) multi.set(K.identity(hash), JSON.stringify(r));
    await multi.exec();
  }

  /** Identity index records of the given hashes (those there are). */
  async getIdentities(hashes: readonly string[]): Promise<Map<string, IdentityRecord>> {
    const out = new Map<string, IdentityRecord>();
    const unique = [...new Set(hashes)];
    for (let i = 0; i < unique.length; i += BATCH) {
      const batch = unique.slice(i, i + BATCH);
      const values = await this.redis.mget(...batch.map(K.identity));
      values.forEach((v, j) => {
        if (v !== null) out.set(batch[j]!, JSON.parse(v) as IdentityRecord);
      });
    }
    return out;
  }

  async saveAttemptRecords(quantum: string, attempt: number, logs: { stdout: string; stderr: string }, provenance: string): Promise<void> {
    await this.redis
      .multi()
      .hset(K.log(quantum, attempt), { stdout: logs.stdout, stderr: logs.stderr })
      .set(K.provenance(quantum, attempt), provenance)
      .exec();
  }

  async getLogs(quantum: string, attempt: number): Promise<{ stdout: string; stderr: string } | undefined> {
    const h = await this.redis.hgetall(K.log(quantum, attempt));
    if (h["stdout"] === undefined && h["stderr"] === undefined) return undefined;
    return { stdout: h["stdout"] ?? "", stderr: h["stderr"] ?? "" };
  }

  async getProvenance(quantum: string, attempt: number): Promise<string | undefined> {
    return (await this.redis.get(K.provenance(quantum, attempt))) ?? undefined;
  }

  /** Everything, for the in-memory indexes at start-up. */
  async loadAll(): Promise<StoredCampaign[]> {
    const names = await this.redis.smembers(K.campaigns);
    const out: StoredCampaign[] = [];
    for (const name of names) {
      const [h, defs, prog] = await Promise.all([
        this.redis.hgetall(K.campaign(name)),
        this.redis.hgetall(K.definitions(name)),
        this.redis.hgetall(K.progress(name)),
      ]);
      if (h["specJson"] === undefined) continue;
      out.push({
        record: {
          name,
          state: h["state"] as CampaignRecord["state"],
          priority: Number(h["priority"]),
          share: Number(h["share"]),
          createdMs: Number(h["createdMs"]),
          finishedMs: Number(h["finishedMs"] ?? 0),
          specJson: h["specJson"],
          tasks: JSON.parse(h["tasks"] ?? "[]") as string[],
          // Absent in records written before deferred tasks existed: all tasks were expanded then.
          expanded: JSON.parse(h["expanded"] ?? h["tasks"] ?? "[]") as string[],
          expansionError: h["expansionError"] ?? "",
        },
        definitions: Object.values(defs).map((d) => JSON.parse(d) as QuantumDefinition),
        progress: new Map(Object.entries(prog).map(([id, p]) => [id, JSON.parse(p) as QuantumProgress])),
      });
    }
    return out;
  }
}

function campaignFields(r: Omit<CampaignRecord, "quantumIds">): Record<string, string | number> {
  return {
    name: r.name,
    state: r.state,
    priority: r.priority,
    share: r.share,
    createdMs: r.createdMs,
    finishedMs: r.finishedMs,
    specJson: r.specJson,
    tasks: JSON.stringify(r.tasks),
    expanded: JSON.stringify(r.expanded),
    expansionError: r.expansionError,
  };
}
