// Replica registrations that agents publish to JetStream (stream DBB_REPLICAS)
// are consumed by the durable pull consumer "dbb-catalog": written to Redis,
// then acknowledged. A message that can never be registered is terminated.
import { AckPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { fromBinary } from "@bufbuild/protobuf";
import { ReplicaRegistrationSchema, type ReplicaRegistration } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError, isOrreryError } from "../../common/errors.js";
import { Streams } from "../../common/subjects.js";
import { createLogger } from "../../common/logger.js";
import type { Catalog } from "../catalog/catalog.js";
import type { CreatedFile, ReplicaEvent } from "../catalog/replica-registrar.js";

export const CATALOG_CONSUMER = "dbb-catalog";
const log = createLogger("dbb-replica-consumer");

export interface ReplicaConsumer {
  /** Stops pulling and waits for the message being handled. */
  stop(): Promise<void>;
  /** Resolves if the consumer stops by itself: the dbb would catalog nothing from then on. */
  failed: Promise<Error>;
}

function notFound(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** Creates stream DBB_REPLICAS and the durable consumer when missing; an existing one is used as it is. */
export async function ensureReplicaStream(nc: NatsConnection): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const stream = Streams.replicas.name;
  try {
    await jsm.streams.info(stream);
  } catch (err) {
    if (!notFound(err, JetStreamApiCodes.StreamNotFound)) throw err;
    // Work-queue retention: a registration leaves the stream once the catalog holds it.
    await jsm.streams.add({
      name: stream,
      subjects: [...Streams.replicas.subjects],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
    });
    log.info({ stream }, "stream created");
  }
  try {
    await jsm.consumers.info(stream, CATALOG_CONSUMER);
  } catch (err) {
    if (!notFound(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(stream, { durable_name: CATALOG_CONSUMER, ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
    log.info({ stream, consumer: CATALOG_CONSUMER }, "consumer created");
  }
}

export async function startReplicaConsumer(
  nc: NatsConnection,
  catalog: Catalog,
  onRegistered: (events: readonly ReplicaEvent[]) => void,
  /** New file DIDs for the site subscriptions; waited for only when their queue is full. */
  onCreated: (created: readonly CreatedFile[]) => Promise<void> = () => Promise.resolve(),
): Promise<ReplicaConsumer> {
  try {
    await ensureReplicaStream(nc);
  } catch (err) {
    throw new OrreryError(ErrorCode.UNAVAILABLE, `cannot set up JetStream stream ${Streams.replicas.name}: ${String(err)}`, {
      cause: err,
      hint: "run nats-server with JetStream enabled (-js)",
    });
  }
  const consumer = await jetstream(nc).consumers.get(Streams.replicas.name, CATALOG_CONSUMER);
  const messages = await consumer.consume({ max_messages: 100 });

  async function handle(m: JsMsg): Promise<void> {
    let reg: ReplicaRegistration;
    try {
      reg = fromBinary(ReplicaRegistrationSchema, m.data);
    } catch (err) {
      log.error({ seq: m.seq, err }, "terminated a message that is not a ReplicaRegistration");
      m.term();
      return;
    }
    const did = `${reg.file?.scope ?? ""}:${reg.file?.name ?? ""}`;
    try {
      const result = await catalog.register([reg]);
      m.ack(); // only now: the catalog holds it
      onRegistered(result.events);
      await onCreated(result.created);
    } catch (err) {
      if (isOrreryError(err, ErrorCode.INVALID_ARGUMENT) || isOrreryError(err, ErrorCode.NOT_FOUND)) {
        log.error({ seq: m.seq, did, rse: reg.rse, err: err.message }, "terminated an invalid replica registration");
        m.term(); // no reason text: nats-server before 2.10.4 ignores "+TERM <reason>"
      } else {
        // Redis trouble: leave it in the stream and try again shortly.
        log.warn({ seq: m.seq, did, err }, "registration failed; will retry");
        m.nak(1000);
      }
    }
  }

  let stopping = false;
  let fail: (err: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  const loop = (async () => {
    for await (const m of messages) await handle(m);
  })().then(
    () => {
      if (!stopping) fail(new OrreryError(ErrorCode.UNAVAILABLE, `the consumer of ${Streams.replicas.name} ended by itself`));
    },
    (err: unknown) => {
      log.error({ err }, "replica consumer stopped");
      fail(OrreryError.from(err, ErrorCode.UNAVAILABLE));
    },
  );

  return {
    failed,
    async stop() {
      stopping = true;
      await messages.close();
      await loop;
    },
  };
}
