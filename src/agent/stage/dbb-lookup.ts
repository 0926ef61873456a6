// What the agent asks the data backbone: where RSEs are (cached briefly, every
// lease needs it) and which RSEs hold an AVAILABLE replica of a file; and the
// acknowledged JetStream publish that registers an output replica.
import { toBinary, create, type MessageInitShape } from "@bufbuild/protobuf";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { DbbClient } from "../../common/dbb-client.js";
import type { NatsConnection } from "../../common/nats.js";
import { ErrorCode, isOrreryError, OrreryError } from "../../common/errors.js";
import { Subjects } from "../../common/subjects.js";
import { ReplicaRegistrationSchema, type Replica, type Rse } from "../../gen/orrery/v1/dbb_pb.js";

/**
 * How long a lease waits out an outage of the dbb, NATS or Redis before its
 * staging fails: a short outage is the cluster's fault, and failing at once
 * would spend the quantum's infrastructure retries in seconds.
 */
const OUTAGE_WAIT_MS = 30_000;

/** `call` again while it fails for `retryable` reasons, backing off, until `waitMs` is spent. */
async function outlastOutage<T>(call: () => Promise<T>, retryable: (err: unknown) => boolean, waitMs: number): Promise<T> {
  const until = Date.now() + waitMs;
  let pause = 250;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!retryable(err) || Date.now() + pause > until) throw err;
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 2000);
    }
  }
}

const unavailable = (err: unknown) => isOrreryError(err, ErrorCode.UNAVAILABLE);

/**
 * How long a replica the lease names may take to show up in the catalog. An
 * upstream output is registered by an acknowledged JetStream publish before
 * its success is reported, but the dbb applies it from the stream a moment
 * later: under load, after the downstream quantum is already leased.
 */
const REGISTRATION_LAG_MS = 15_000;

export class DbbLookup {
  private rses: { at: number; list: Rse[] } | undefined;
  private inFlight: Promise<Rse[]> | undefined;
  private readonly js: JetStreamClient;
  private readonly client: DbbClient;

  constructor(
    nc: NatsConnection,
    private readonly rseTtlMs = 30_000,
    private readonly outageWaitMs = OUTAGE_WAIT_MS,
    private readonly registrationLagMs = REGISTRATION_LAG_MS,
  ) {
    this.js = jetstream(nc);
    this.client = new DbbClient(nc, 10_000);
  }

  /** Every RSE, from a copy at most `rseTtlMs` old. */
  async rseList(): Promise<Rse[]> {
    if (this.rses && Date.now() - this.rses.at < this.rseTtlMs) return this.rses.list;
    this.inFlight ??= outlastOutage(() => this.client.rseList(), unavailable, this.outageWaitMs)
      .then((list) => {
        this.rses = { at: Date.now(), list };
        return list;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  async rse(name: string): Promise<Rse | undefined> {
    return (await this.rseList()).find((r) => r.name === name);
  }

  /** The RSE of `site` marked as its output RSE; throws STAGE_OUT if there is none. */
  async outputRse(site: string): Promise<Rse> {
    const rse = (await this.rseList()).find((r) => r.site === site && r.output);
    if (rse === undefined) {
      throw new OrreryError(ErrorCode.STAGE_OUT, `site ${site} has no output RSE in the data backbone`, {
        hint: `add one: orrery dbb rse add ${site}-disk --site ${site} --endpoint URL --bucket B (the first RSE of a site is its output RSE)`,
      });
    }
    return rse;
  }

  /** Replicas of a file that the catalog lists as AVAILABLE. */
  async availableReplicas(did: string): Promise<Replica[]> {
    return (await this.replicas(did)).filter((r) => r.state === "AVAILABLE");
  }

  /** Every replica of a file, in any state. */
  replicas(did: string): Promise<Replica[]> {
    return outlastOutage(() => this.client.replicas(did), unavailable, this.outageWaitMs);
  }

  /**
   * A presigned GET of a replica at a site this agent has no S3 key for. A
   * replica the catalog does not list at all yet is waited for
   * (REGISTRATION_LAG_MS), as is an outage of the dbb; one it lists in
   * another state (BAD, being deleted) is not coming, and fails at once.
   */
  async replicaUrl(did: string, rse: string): Promise<string> {
    const until = Date.now() + this.registrationLagMs;
    let pause = 250;
    for (;;) {
      try {
        return await outlastOutage(() => this.client.replicaUrl(did, rse), unavailable, this.outageWaitMs);
      } catch (err) {
        if (!isOrreryError(err, ErrorCode.NOT_FOUND) || Date.now() + pause > until) throw err;
        // The DID itself may be on its way too: its first registration creates it.
        const known = await this.replicas(did).catch((e: unknown) => (isOrreryError(e, ErrorCode.NOT_FOUND) ? [] : Promise.reject(e)));
        if (known.some((r) => r.rse === rse)) throw err;
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 2000);
      }
    }
  }

  /** Declares a replica BAD (its bytes do not match the catalog); returns its state now. */
  declareBad(did: string, rse: string, reason: string): Promise<string> {
    return this.client.declareBad(did, rse, reason);
  }

  /**
   * Publishes a registration and waits for JetStream's acknowledgement, so it
   * is stored before the agent reports success. The message id makes a retry
   * of the same attempt a duplicate that JetStream drops.
   */
  async register(reg: MessageInitShape<typeof ReplicaRegistrationSchema>, msgId: string): Promise<void> {
    try {
      // While nats-server restarts the publish fails; the message id makes a repeat that did land a duplicate JetStream drops.
      const data = toBinary(ReplicaRegistrationSchema, create(ReplicaRegistrationSchema, reg));
      await outlastOutage(() => this.js.publish(Subjects.replicaRegister, data, { msgID: msgId, timeout: 10_000 }), () => true, this.outageWaitMs);
    } catch (err) {
      throw new OrreryError(ErrorCode.STAGE_OUT, `JetStream did not acknowledge the registration of ${reg.file?.scope ?? ""}:${reg.file?.name ?? ""}: ${String(err)}`, {
        cause: err,
        hint: "check that nats-server runs with JetStream and the dbb has created stream DBB_REPLICAS",
      });
    }
  }
}
