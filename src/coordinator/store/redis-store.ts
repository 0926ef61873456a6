// Coordinator state in Redis (`orrery:` keys). A campaign's quantum
// definitions (definitions.ts) are stored before the campaign record, whose
// task ranges name which quanta are its own: a crash mid-submit or
// mid-expansion leaves nothing visible. Progress is stored only for quanta
// not in their first state (workload/initial-progress.ts).
import { Redis } from "ioredis";
import type { AttemptLogs, CampaignKeys, StoreChanges, CampaignRecord, CampaignUpdate, DefinitionSource, ExpansionRecord, IdentityRecord, QuantaStore, QuantumDefinition, QuantumProgress, RowBatch, StoredCampaign, TaskRange, TicketRecord } from "../workload/index.js";
import { readAccounting } from "../workload/index.js";
import { decodeRowBatch, encodeRowBatch } from "./row-index.js";
import { DefinitionEncoder, readDefinitions, writeDefinitions } from "./definitions.js";
import { checkReplies } from "../../common/redis-replies.js";
import { createLogger } from "../../common/logger.js";
import { connectAuthenticated, redisAuth } from "../../common/redis-auth.js";

const log = createLogger("coordinator-store");

const BATCH = 5000;
/** Progress fields per HSET inside a transaction. */
const PROGRESS_BATCH = 2000;
const K = {
  campaigns: "orrery:campaigns",
  campaign: (name: string) => `orrery:campaign:${name}`,
  /**
   * Hash: quantum id → its definition (definitions.ts), one per submit of the
   * campaign (its generation): a resubmit writes its own before it replaces the old.
   */
  definitions: (c: CampaignKeys) => `orrery:campaign:${c.name}:quanta${c.generation === "" ? "" : `:${c.generation}`}`,
  /** Hash: first row of a batch → the batch's links and identities (row-index.ts), per generation. */
  index: (c: CampaignKeys) => `orrery:campaign:${c.name}:index${c.generation === "" ? "" : `:${c.generation}`}`,
  /** Hash: quantum id → QuantumProgress JSON, for quanta not in their first state. */
  progress: (name: string) => `orrery:campaign:${name}:progress`,
  /** Hash: quantum id → TicketRecord JSON (open and closed); a resubmit drops it. */
  tickets: (name: string) => `orrery:campaign:${name}:tickets`,
  log: (quantum: string, attempt: number) => `orrery:log:${quantum}:${attempt}`,
  provenance: (quantum: string, attempt: number) => `orrery:provenance:${quantum}:${attempt}`,
  // Not under a campaign's keys: it outlives the campaign runs that wrote it.
  identity: (hash: string) => `orrery:identity:${hash}`,
};
/** The campaign record's field holding its task ranges (TaskRange[] as JSON): which quanta are committed. */
const ROWS_FIELD = "rows";

/** The QuantaStore on a redis-server: what server.ts runs. */
export class CoordinatorStore implements QuantaStore {
  readonly redis: Redis;

  constructor(private readonly url: string) {
    // No offline queue: while Redis is down a call fails at once (UNAVAILABLE naming Redis) instead of
    // holding the manager's mailbox, and every CLI call behind it, until ioredis gives up.
    this.redis = new Redis(url, { maxRetriesPerRequest: 3, enableOfflineQueue: false, lazyConnect: true, retryStrategy: (times) => Math.min(times * 200, 2000), ...redisAuth() });
    // Without a listener ioredis reports each failed reconnect as an unhandled error event.
    let warned = 0;
    this.redis.on("error", (err: Error) => {
      if (Date.now() - warned < 10_000) return;
      warned = Date.now();
      log.warn({ err: err.message, redis: url }, "Redis connection error; retrying (calls that need it answer UNAVAILABLE meanwhile)");
    });
  }

  async connect(): Promise<void> {
    await connectAuthenticated(this.redis, this.url);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * Writes definitions under the campaign's generation. Nothing reads them
   * until a commit names their task ranges; fields past the committed ranges
   * (a write a crash cut short) are overwritten by the next write.
   */
  writeDefinitions(c: CampaignKeys, quanta: DefinitionSource): Promise<void> {
    const encoder = new DefinitionEncoder();
    return writeDefinitions(this.redis, K.definitions(c), quanta.count, (i) => quanta.id(i), (i) => encoder.encode(quanta.definition(i)));
  }

  /** Forgets definitions written for a campaign generation that was never committed (or was replaced). */
  async dropDefinitions(c: CampaignKeys): Promise<void> {
    await this.redis.unlink(K.definitions(c));
  }

  /** A campaign's row index: its batches in row order, each with its part of `ranges`. */
  private async rowBatches(c: CampaignKeys, ranges: readonly TaskRange[]): Promise<RowBatch[]> {
    const stored = await this.redis.hgetallBuffer(K.index(c));
    return Object.entries(stored)
      .map(([first, value]) => ({ first: Number(first), value }))
      .sort((a, b) => a.first - b.first)
      .map(({ first, value }) => decodeRowBatch(value, first, ranges));
  }

  /**
   * Makes a new campaign visible, in one transaction: its record (naming its
   * generation and task ranges), its rows' index, and the progress of quanta
   * not in their first state (progressToStore; the others get theirs back
   * from their links). A campaign it replaces goes: record, progress, index
   * and definitions.
   */
  async commitCampaign(record: CampaignRecord, ranges: readonly TaskRange[], progress: ReadonlyMap<string, QuantumProgress>, rows: RowBatch): Promise<void> {
    const old = await this.redis.hget(K.campaign(record.name), "generation");
    const multi = this.redis.multi();
    // UNLINK: a million-field hash is freed in the background, not while Redis blocks.
    multi.unlink(K.campaign(record.name), K.progress(record.name), K.tickets(record.name), K.index(record));
    if (old !== null && old !== record.generation) multi.unlink(K.definitions({ name: record.name, generation: old }), K.index({ name: record.name, generation: old }));
    multi.hset(K.index(record), "0", encodeRowBatch(rows));
    this.addProgress(multi, record.name, progress);
    multi.hset(K.campaign(record.name), { ...campaignFields(record), [ROWS_FIELD]: JSON.stringify(ranges) }).sadd(K.campaigns, record.name);
    checkReplies(await multi.exec());
  }

  /**
   * A deferred expansion (its definitions written already): in one
   * transaction, the new rows' index (`rows`, from row `first`), their
   * progress, and the campaign's expanded tasks, state and ranges.
   */
  async saveExpansion(
    record: ExpansionRecord,
    ranges: readonly TaskRange[],
    progress: ReadonlyMap<string, QuantumProgress>,
    rows?: { first: number; batch: RowBatch },
  ): Promise<void> {
    const multi = this.redis.multi();
    if (rows) multi.hset(K.index(record), String(rows.first), encodeRowBatch(rows.batch));
    this.addProgress(multi, record.name, progress);
    multi.hset(K.campaign(record.name), {
      state: record.state,
      finishedMs: record.finishedMs,
      expanded: JSON.stringify(record.expanded),
      expansionError: record.expansionError,
      [ROWS_FIELD]: JSON.stringify(ranges),
    });
    checkReplies(await multi.exec());
  }

  /** The definitions of some quanta of a campaign, in the order asked. */
  getDefinitions(c: CampaignKeys, ids: readonly string[]): Promise<QuantumDefinition[]> {
    return readDefinitions(this.redis, K.definitions(c), ids);
  }

  private addProgress(multi: ReturnType<Redis["multi"]>, campaign: string, progress: ReadonlyMap<string, QuantumProgress>): void {
    let fields: string[] = [];
    for (const [id, p] of progress) {
      fields.push(id, JSON.stringify(p));
      if (fields.length >= 2 * PROGRESS_BATCH) {
        multi.hset(K.progress(campaign), ...fields);
        fields = [];
      }
    }
    if (fields.length > 0) multi.hset(K.progress(campaign), ...fields);
  }

  async updateCampaign(record: CampaignUpdate): Promise<void> {
    await this.redis.hset(K.campaign(record.name), campaignUpdateFields(record));
  }

  /**
   * A handler's changes in one transaction, so one round trip however many
   * results or leases it handled: progress and identity records, attempt
   * records (logs, provenance), campaign records.
   */
  async saveChanges(changes: StoreChanges): Promise<void> {
    const { progress, attempts, campaigns, tickets = [] } = changes;
    if (progress.length === 0 && attempts.length === 0 && campaigns.length === 0 && tickets.length === 0) return;
    const multi = this.redis.multi();
    for (const a of attempts) {
      if (a.logs) multi.hset(K.log(a.quantum, a.attempt), { stdout: a.logs.stdout, stderr: a.logs.stderr });
      multi.set(K.provenance(a.quantum, a.attempt), a.provenance);
    }
    for (const p of progress) {
      this.addProgress(multi, p.campaign, p.updates);
      for (const [hash, r] of p.identities ?? []) multi.set(K.identity(hash), JSON.stringify(r));
    }
    for (const c of campaigns) multi.hset(K.campaign(c.name), campaignUpdateFields(c));
    for (const t of tickets) multi.hset(K.tickets(t.campaign), t.quantum, JSON.stringify(t));
    checkReplies(await multi.exec());
  }

  /** Progress of some quanta and, for those that succeeded, their identity records, in one transaction. */
  async saveProgress(campaign: string, updates: ReadonlyMap<string, QuantumProgress>, identities: ReadonlyMap<string, IdentityRecord> = new Map()): Promise<void> {
    if (updates.size === 0 && identities.size === 0) return;
    const fields: string[] = [];
    for (const [id, p] of updates) fields.push(id, JSON.stringify(p));
    const multi = this.redis.multi();
    if (fields.length > 0) multi.hset(K.progress(campaign), ...fields);
    for (const [hash, r] of identities) multi.set(K.identity(hash), JSON.stringify(r));
    checkReplies(await multi.exec());
  }

  /** Stored progress of some quanta (those not in their first state have one). */
  async getProgress(campaign: string, ids: readonly string[]): Promise<Map<string, QuantumProgress>> {
    const out = new Map<string, QuantumProgress>();
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const values = await this.redis.hmget(K.progress(campaign), ...batch);
      values.forEach((v, j) => {
        if (v !== null) out.set(batch[j]!, JSON.parse(v) as QuantumProgress);
      });
    }
    return out;
  }

  /** Every stored progress record of a campaign, a batch at a time (HSCAN): a million of them are never all in memory at once. */
  async scanProgress(campaign: string, visit: (id: string, progress: QuantumProgress) => void): Promise<void> {
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(K.progress(campaign), cursor, "COUNT", 1000);
      for (let i = 0; i + 1 < flat.length; i += 2) visit(flat[i]!, JSON.parse(flat[i + 1]!) as QuantumProgress);
      cursor = next;
    } while (cursor !== "0");
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

  async saveAttemptRecords(quantum: string, attempt: number, logs: AttemptLogs, provenance: string): Promise<void> {
    await this.redis
      .multi()
      .hset(K.log(quantum, attempt), { stdout: logs.stdout, stderr: logs.stderr })
      .set(K.provenance(quantum, attempt), provenance)
      .exec()
      .then(checkReplies);
  }

  async getLogs(quantum: string, attempt: number): Promise<AttemptLogs | undefined> {
    const h = await this.redis.hgetall(K.log(quantum, attempt));
    if (h["stdout"] === undefined && h["stderr"] === undefined) return undefined;
    return { stdout: h["stdout"] ?? "", stderr: h["stderr"] ?? "" };
  }

  async getProvenance(quantum: string, attempt: number): Promise<string | undefined> {
    return (await this.redis.get(K.provenance(quantum, attempt))) ?? undefined;
  }

  /** Every campaign's record and task ranges, for the in-memory indexes at start-up (then scanProgress and getDefinitions). */
  async loadAll(onUnreadable: (campaign: string, why: string) => void = () => {}): Promise<StoredCampaign[]> {
    const names = await this.redis.smembers(K.campaigns);
    const out: StoredCampaign[] = [];
    for (const name of names) {
      const h = await this.redis.hgetall(K.campaign(name));
      if (h["specJson"] === undefined) continue;
      const ranges = JSON.parse(h[ROWS_FIELD] ?? "null") as TaskRange[] | null;
      const keys = { name, generation: h["generation"] ?? "" };
      const batches = ranges ? await this.rowBatches(keys, ranges) : [];
      if (ranges === null || batches.reduce((n, b) => n + b.count, 0) !== ranges.reduce((n, r) => n + r.count, 0)) {
        // Written by an earlier build (definitions in chunks, or no row index): its quanta cannot be read.
        onUnreadable(name, "it was stored in an older format; submit it again to run it");
        continue;
      }
      // Only the current generation's: one stored by a flush of the campaign it replaced is not its own.
      const tickets = Object.values(await this.redis.hgetall(K.tickets(name)))
        .flatMap((v) => parseTicket(v) ?? [])
        .filter((t) => t.generation === keys.generation);
      out.push({
        tickets,
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
          generation: keys.generation,
          ...(h["attemptFigures"] ? { attemptFigures: JSON.parse(h["attemptFigures"]) as NonNullable<CampaignRecord["attemptFigures"]> } : {}),
          ...withAccounting(readAccounting(h["accounting"])),
        },
        ranges,
        batches,
      });
    }
    return out;
  }
}

function campaignUpdateFields(r: CampaignUpdate): Record<string, string | number> {
  return {
    state: r.state,
    priority: r.priority,
    share: r.share,
    finishedMs: r.finishedMs,
    expanded: JSON.stringify(r.expanded),
    expansionError: r.expansionError,
    ...(r.attemptFigures ? { attemptFigures: JSON.stringify(r.attemptFigures) } : {}),
    ...(r.accounting ? { accounting: JSON.stringify(r.accounting) } : {}),
  };
}

function withAccounting(accounting: CampaignRecord["accounting"]): Pick<CampaignRecord, "accounting"> {
  return accounting ? { accounting } : {};
}

function campaignFields(r: CampaignRecord): Record<string, string | number> {
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
    generation: r.generation,
  };
}

/** A stored ticket, or undefined when it is not one (a bad entry is skipped, never stops a start-up). */
function parseTicket(text: string): TicketRecord | undefined {
  try {
    const t = JSON.parse(text) as Partial<TicketRecord> | null;
    const strings = ["quantum", "campaign", "generation", "task", "outcome", "message", "stderrTail", "reason"] as const;
    const numbers = ["exitCode", "attempt", "openedMs", "closedMs"] as const;
    if (t === null || typeof t !== "object" || (t.state !== "open" && t.state !== "closed")) return undefined;
    if (!strings.every((k) => typeof t[k] === "string") || !numbers.every((k) => typeof t[k] === "number")) return undefined;
    return t as TicketRecord;
  } catch {
    return undefined;
  }
}
