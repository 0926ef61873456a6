// The transfer ledger in Redis: a request exists while its entry does. A
// worker claims an entry for a while (so a redelivered message is not copied
// twice at once), and its result is applied only if the entry is still of the
// generation it claimed (so a stale message never undoes a newer request).
import type { Redis } from "ioredis";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { parseDid } from "../../common/did.js";
import { createLogger } from "../../common/logger.js";
import { Keys, ReplicaState } from "../catalog/keys.js";
import type { ReplicaEvent } from "../catalog/replica-registrar.js";
import { evaluate, parseRseExpression } from "../rse-expression/index.js";
import { clock, type LockCommands } from "./lock-scripts.js";
import type { ClaimResult, TransferLedgerPort, TransferQueue, TransferRequest, TransferSource } from "./transfer-port.js";

const log = createLogger("dbb-transfer-ledger");

export class TransferLedger implements TransferLedgerPort {
  constructor(
    private readonly redis: Redis & LockCommands,
    private readonly queue: TransferQueue,
    private readonly rses: () => Promise<Rse[]>,
  ) {}

  async claim(req: TransferRequest, worker: string, ttlMs: number): Promise<ClaimResult> {
    const answer = (await this.redis.orreryClaimTransfer(...clock(), req.rse, req.did, String(req.gen), worker, ttlMs)) as string[];
    if (answer[0] === "done") return { kind: "done" };
    if (answer[0] === "busy") return { kind: "busy" };
    const ruleId = answer[1] ?? "";
    const tries = Number(answer[2] ?? "1");
    const { scope, name } = parseDid(req.did);
    const [file, dest, rseNames, sourceExpression] = await Promise.all([
      this.redis.hmget(Keys.did(scope, name), "bytes", "adler32", "md5"),
      this.redis.hget(Keys.replica(req.rse, scope, name), "path"),
      this.redis.smembers(Keys.fileRses(scope, name)),
      ruleId === "" ? Promise.resolve(null) : this.redis.hget(Keys.rule(ruleId), "sourceExpression"),
    ]);
    const rses = await this.rses();
    const byName = new Map(rses.map((r) => [r.name, r]));
    const destination = byName.get(req.rse);
    if (!destination) {
      await this.failed(req, worker, `destination RSE ${req.rse} is no longer in the catalog`, true);
      return { kind: "done" };
    }
    const allowed = sourceExpression ? new Set(evaluate(parseRseExpression(sourceExpression), rses).map((r) => r.name)) : undefined;
    const pipe = this.redis.pipeline();
    const others = rseNames.filter((n) => n !== req.rse && (!allowed || allowed.has(n)));
    for (const n of others) pipe.hmget(Keys.replica(n, scope, name), "state", "path");
    const states = others.length === 0 ? [] : ((await pipe.exec()) ?? []);
    const sources: TransferSource[] = [];
    others.forEach((n, i) => {
      const [err, value] = states[i] ?? [null, null];
      const [state, path] = (value as (string | null)[] | null) ?? [];
      const rse = byName.get(n);
      if (!err && rse && state === ReplicaState.AVAILABLE && path) sources.push({ rse: n, endpoint: rse.endpoint, bucket: rse.bucket, path });
    });
    // A source at the destination's own site first: the copy stays on the site's network.
    sources.sort((a, b) => Number(byName.get(b.rse)?.site === destination.site) - Number(byName.get(a.rse)?.site === destination.site));
    return {
      kind: "task",
      task: {
        did: req.did,
        rse: req.rse,
        gen: req.gen,
        bytes: BigInt(file[0] ?? "0"),
        adler32: file[1] ?? "",
        md5: file[2] ?? "",
        destination: { endpoint: destination.endpoint, bucket: destination.bucket, path: dest ?? "" },
        sources,
        tries,
      },
    };
  }

  async renew(req: TransferRequest, worker: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.orreryRenewClaim(...clock(), req.rse, req.did, String(req.gen), worker, ttlMs)) === 1;
  }

  async completed(req: TransferRequest, _worker: string): Promise<ReplicaEvent[]> {
    const answer = await this.redis.orreryTransferDone(...clock(), req.rse, req.did, String(req.gen));
    if (answer !== "ok") {
      log.info({ ...req }, "transfer finished after its request was replaced or dropped");
      return [];
    }
    return [{ did: req.did, rse: req.rse, state: ReplicaState.AVAILABLE }];
  }

  async failed(req: TransferRequest, _worker: string, reason: string, final: boolean): Promise<void> {
    await this.redis.orreryTransferFailed(...clock(), req.rse, req.did, String(req.gen), final ? "1" : "0", reason.slice(0, 1000));
  }

  async declareBad(did: string, rse: string, reason: string): Promise<ReplicaEvent[]> {
    const answer = (await this.redis.orreryDeclareBad(...clock(), did, rse, reason.slice(0, 1000))) as string[];
    if (answer[0] === "ABSENT") return [];
    log.warn({ did, rse, reason }, "replica declared BAD");
    const requests: TransferRequest[] = [];
    for (let i = 1; i + 2 < answer.length; i += 3) requests.push({ rse: answer[i]!, did: answer[i + 1]!, gen: Number(answer[i + 2]) });
    await this.queue.enqueue(requests);
    const events: ReplicaEvent[] = [{ did, rse, state: ReplicaState.BAD }];
    if (answer[0] === "COPYING") events.push({ did, rse, state: ReplicaState.COPYING });
    return events;
  }

  /** Every request in the ledger, to publish again after a crash (the message id makes repeats no-ops). */
  async pending(): Promise<TransferRequest[]> {
    const out: TransferRequest[] = [];
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(Keys.transfers, cursor, "COUNT", 1000);
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const field = flat[i]!;
        const at = field.indexOf(":");
        try {
          const gen = Number((JSON.parse(flat[i + 1]!) as { gen: unknown }).gen);
          if (at > 0 && Number.isFinite(gen)) out.push({ rse: field.slice(0, at), did: field.slice(at + 1), gen });
        } catch (err) {
          log.error({ field, err }, "unreadable transfer ledger entry");
        }
      }
    } while (cursor !== "0");
    return out;
  }
}
