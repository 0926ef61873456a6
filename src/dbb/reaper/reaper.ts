// The reaper, as Rucio's: per RSE it deletes unlocked replicas from the
// tombstone queue `dbb:tombstones:<rse>`. Obsolete ones (tombstone 0) go
// whatever the space; when the RSE is over its quota, replicas whose
// tombstone has passed go oldest tombstone first until usage is back within
// the quota, and no further. A replica with locks never goes, nor the last
// AVAILABLE copy of a file (MARK in reaper-scripts.ts decides both atomically).
//
// Each deletion is mark (Lua) → delete the object → finish (Lua): a crash
// anywhere leaves the replica BEING_DELETED in `dbb:being-deleted:<rse>`,
// finished at the next start-up. The replica event of a deletion is
// BEING_DELETED, published at the mark: readers (the coordinator's locality)
// must stop choosing the replica before its bytes go; removing the record
// afterwards publishes nothing more.
import type { Redis } from "ioredis";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { createLogger } from "../../common/logger.js";
import { Periodic } from "../../common/periodic.js";
import { Keys, ReplicaState } from "../catalog/keys.js";
import type { ReplicaEvent } from "../catalog/replica-registrar.js";
import type { TransferQueue } from "../rules/index.js";
import { clock } from "../rules/lock-scripts.js";
import { s3ObjectDeleter, type ObjectDeleter } from "./object-deleter.js";
import { parseFinish, parseMark, type ReaperCommands, type ReaperPipeline } from "./reaper-scripts.js";

const log = createLogger("dbb-reaper");

/** Candidates read from a queue per round trip; also the most objects marked before they are deleted. */
const BATCH = 100;
/** Objects deleted at once per RSE. */
const DELETE_CONCURRENCY = 8;
/**
 * A mark older than this that no one finished is a crash's leftover; younger
 * ones may be another dbb process's deletion in flight, left to it.
 */
const LEFTOVER_AGE_MS = 60_000;

export interface ReaperOptions {
  /** How often each RSE is looked at. */
  intervalMs: number;
}

interface Marked {
  did: string;
  path: string;
  bytes: number;
}

export interface ReapResult {
  deleted: number;
  bytes: number;
}

export class Reaper {
  private periodic: Periodic | undefined;

  constructor(
    private readonly redis: Redis & ReaperCommands,
    private readonly queue: TransferQueue,
    private readonly rses: () => Promise<Rse[]>,
    /** Replica events: BEING_DELETED when a replica stops being a copy, COPYING when a lock took it back. */
    private readonly publish: (events: readonly ReplicaEvent[]) => void,
    private readonly opts: ReaperOptions,
    private readonly deleter: ObjectDeleter = s3ObjectDeleter,
  ) {}

  /** Finishes every deletion a crash left BEING_DELETED. */
  async recover(): Promise<number> {
    let finished = 0;
    for (const rse of await this.rses()) finished += (await this.finishLeftovers(rse, Infinity)).deleted;
    if (finished > 0) log.info({ replicas: finished }, "deletions left by a crash finished");
    return finished;
  }

  start(): void {
    this.periodic ??= new Periodic(() => this.pass(), this.opts.intervalMs, (err: unknown) => log.warn({ err }, "reaper pass failed; next pass will retry"));
    this.periodic.start();
  }

  async stop(): Promise<void> {
    await this.periodic?.stop();
  }

  /** One look at every RSE; an RSE that fails is logged and the others go on. */
  async pass(now = Date.now()): Promise<ReapResult> {
    const total: ReapResult = { deleted: 0, bytes: 0 };
    for (const rse of await this.rses()) {
      try {
        const r = await this.reapRse(rse, now);
        total.deleted += r.deleted;
        total.bytes += r.bytes;
      } catch (err) {
        log.warn({ rse: rse.name, err }, "reaping an RSE failed; next pass will retry");
      }
    }
    return total;
  }

  async reapRse(rse: Rse, now = Date.now()): Promise<ReapResult> {
    const leftovers = await this.finishLeftovers(rse, now - LEFTOVER_AGE_MS);
    // Rucio: obsolete replicas (tombstone at the epoch) are deleted whatever the space.
    const obsolete = await this.sweep(rse, "obsolete", now);
    let quota: ReapResult = { deleted: 0, bytes: 0 };
    if (rse.quotaBytes > 0n && Number((await this.redis.hget(Keys.rseUsage, rse.name)) ?? "0") > Number(rse.quotaBytes)) {
      // Rucio frees the space needed and no more, oldest tombstone first.
      quota = await this.sweep(rse, "quota", now);
    }
    const result = { deleted: leftovers.deleted + obsolete.deleted + quota.deleted, bytes: leftovers.bytes + obsolete.bytes + quota.bytes };
    if (result.deleted > 0) log.info({ rse: rse.name, obsolete: obsolete.deleted, overQuota: quota.deleted, bytes: result.bytes }, "replicas deleted");
    return result;
  }

  /** Walks one kind of candidate in tombstone order, marking and deleting a batch at a time. */
  private async sweep(rse: Rse, mode: "obsolete" | "quota", now: number): Promise<ReapResult> {
    const result: ReapResult = { deleted: 0, bytes: 0 };
    const queueKey = Keys.tombstones(rse.name);
    // Candidates left in the queue (locked, last copy…) are stepped over by offset.
    let skipped = 0;
    for (;;) {
      const dids =
        mode === "obsolete"
          ? await this.redis.zrangebyscore(queueKey, 0, 0, "LIMIT", skipped, BATCH)
          : await this.redis.zrangebyscore(queueKey, "(0", now, "LIMIT", skipped, BATCH);
      // One round trip for the batch: each mark still checks the quota on its own, so once
      // usage is within it the rest of the batch answers 'enough'.
      const pipe = this.redis.pipeline() as ReaperPipeline;
      for (const did of dids) pipe.orreryReaperMark(...clock(now), rse.name, did, mode, String(rse.quotaBytes));
      const answers = dids.length === 0 ? [] : ((await pipe.exec()) ?? []);
      const marked: Marked[] = [];
      let enough = false;
      answers.forEach(([err, value], i) => {
        if (err) throw err;
        const answer = parseMark(value);
        if (answer.kind === "marked") marked.push({ did: dids[i]!, path: answer.path, bytes: answer.bytes });
        else if (answer.kind === "skip") skipped++;
        else if (answer.kind === "enough") enough = true;
      });
      // Readers stop choosing these replicas now, before their bytes go.
      this.publish(marked.map((m) => ({ did: m.did, rse: rse.name, state: ReplicaState.BEING_DELETED })));
      const done = await this.deleteAndFinish(rse, marked);
      result.deleted += done.deleted;
      result.bytes += done.bytes;
      if (enough || dids.length < BATCH) return result;
    }
  }

  /** Marks older than `markedBefore` (ms) that no one finished: their object is deleted again and their record finished. */
  private async finishLeftovers(rse: Rse, markedBefore: number): Promise<ReapResult> {
    const marks = await this.redis.hgetall(Keys.beingDeleted(rse.name));
    const left: Marked[] = [];
    for (const [did, value] of Object.entries(marks)) {
      const [bytes, at] = value.split(":").map(Number);
      if ((at ?? 0) < markedBefore) left.push({ did, path: "", bytes: bytes ?? 0 });
    }
    if (left.length === 0) return { deleted: 0, bytes: 0 };
    const pipe = this.redis.pipeline();
    for (const m of left) pipe.hget(replicaKeyOf(rse.name, m.did), "path");
    const paths = (await pipe.exec()) ?? [];
    left.forEach((m, i) => (m.path = (paths[i]?.[1] as string | null) ?? ""));
    return this.deleteAndFinish(rse, left);
  }

  private async deleteAndFinish(rse: Rse, marked: readonly Marked[]): Promise<ReapResult> {
    const result: ReapResult = { deleted: 0, bytes: 0 };
    let next = 0;
    const worker = async () => {
      while (next < marked.length) {
        const m = marked[next++]!;
        if (await this.deleteOne(rse, m)) {
          result.deleted++;
          result.bytes += m.bytes;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, marked.length) }, worker));
    return result;
  }

  /** Deletes one marked replica's object, then finishes its record; false if it stays (object not deleted, or taken back). */
  private async deleteOne(rse: Rse, m: Marked): Promise<boolean> {
    try {
      // An empty path is a record the mark found without one: nothing stored to delete.
      if (m.path !== "") await this.deleter.delete(rse, m.path);
    } catch (err) {
      // Stays BEING_DELETED: a later pass (or the next start-up) finishes it.
      log.warn({ rse: rse.name, did: m.did, path: m.path, err }, "could not delete a replica's object; will retry");
      return false;
    }
    const answer = parseFinish(await this.redis.orreryReaperFinish(...clock(), rse.name, m.did));
    switch (answer.kind) {
      case "deleted":
        return true;
      case "copying":
        log.info({ rse: rse.name, did: m.did }, "a lock arrived while the replica was being deleted: copying it again");
        this.publish([{ did: m.did, rse: rse.name, state: ReplicaState.COPYING }]);
        // The ledger entry is written; the judge publishes it again at start-up if this fails.
        await this.queue.enqueue(answer.requests).catch((err: unknown) => log.warn({ rse: rse.name, did: m.did, err }, "could not publish the transfer request"));
        return false;
      case "kept":
        log.warn({ rse: rse.name, did: m.did, path: m.path }, "replica registered again while being deleted: its record is kept (check its object)");
        return false;
      case "gone":
        return false;
    }
  }
}

function replicaKeyOf(rse: string, did: string): string {
  const i = did.indexOf(":");
  return Keys.replica(rse, did.slice(0, i), did.slice(i + 1));
}
