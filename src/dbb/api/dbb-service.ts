// The DBB request/reply API: NATS service "dbb" (queue group "dbb", so any
// number of dbb processes share the load), one endpoint per `dbb.<endpoint>`
// subject, protobuf in and out; errors carry ERROR_HEADER and a DbbError body.
import { Svcm, type ServiceMsg } from "@nats-io/services";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import {
  AttachRequestSchema,
  AttachResponseSchema,
  CloseRequestSchema,
  CloseResponseSchema,
  ContentsRequestSchema,
  ContentsResponseSchema,
  BadReplicaRequestSchema,
  BadReplicaResponseSchema,
  DbbErrorSchema,
  DetachRequestSchema,
  DetachResponseSchema,
  FileQueryRequestSchema,
  FileQueryResponseSchema,
  PolicySetRequestSchema,
  PolicySetResponseSchema,
  PolicyShowRequestSchema,
  PolicyShowResponseSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ReplicaListRequestSchema,
  ReplicaListResponseSchema,
  ReplicaUrlRequestSchema,
  ReplicaUrlResponseSchema,
  RseAddRequestSchema,
  RseAddResponseSchema,
  RseListRequestSchema,
  RseListResponseSchema,
  RuleAddRequestSchema,
  RuleAddResponseSchema,
  RuleDeleteRequestSchema,
  RuleDeleteResponseSchema,
  RuleListRequestSchema,
  RuleListResponseSchema,
  RuleShowRequestSchema,
  RuleShowResponseSchema,
  ReplicaSettleRequestSchema,
  ReplicaSettleResponseSchema,
  RuleUpdateRequestSchema,
  RuleUpdateResponseSchema,
} from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { ERROR_HEADER, ERROR_HINT_HEADER } from "../../common/nats.js";
import { DBB_SERVICE_NAME, Subjects, type DbbEndpoint } from "../../common/subjects.js";
import { createLogger } from "../../common/logger.js";
import type { Catalog } from "../catalog/catalog.js";
import type { ReplicaEvent } from "../catalog/replica-registrar.js";
import { ruleToProto, type RuleEngine, type TransferLedgerPort } from "../rules/index.js";
import { declareBadReplica, type OutputSettlement } from "../reaper/index.js";
import { parseDuration } from "../../common/duration.js";
import { contentsDidType } from "../../common/did-type.js";
import type { PolicyService } from "../policies/index.js";
import { storageTiers } from "../../common/wire-enums.js";
import { replicaUrl } from "./replica-url.js";

const log = createLogger("dbb-api");

// @nats-io/services carries its own copy of nats-core's types: the same
// objects at run time, different declarations at compile time.
type ServicesConnection = ConstructorParameters<typeof Svcm>[0];
type ServiceReplyOptions = Parameters<ServiceMsg["respondError"]>[3];

export interface DbbService {
  /** Stops taking requests and waits for the ones in flight to be answered. */
  stop(): Promise<void>;
}

const statusOf: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  SPEC_INVALID: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  UNAVAILABLE: 503,
};

export async function startDbbService(
  nc: NatsConnection,
  catalog: Catalog,
  rules: RuleEngine,
  onRegistered: (events: readonly ReplicaEvent[]) => void,
  ledger: Pick<TransferLedgerPort, "declareBad">,
  policies: PolicyService,
  outputs: Pick<OutputSettlement, "settle">,
): Promise<DbbService> {
  const svc = await new Svcm(nc as unknown as ServicesConnection).add({ name: DBB_SERVICE_NAME, version: "0.1.0", queue: "dbb", description: "Orrery data backbone catalog" });
  const inFlight = new Set<Promise<void>>();

  function endpoint<I extends DescMessage, O extends DescMessage>(
    name: DbbEndpoint,
    input: I,
    output: O,
    handle: (request: MessageShape<I>) => Promise<MessageInitShape<O>>,
  ): void {
    svc.addEndpoint(name.replaceAll(".", "-"), {
      subject: Subjects.dbbApi(name),
      handler: (_err, msg) => {
        const p = answer(msg, name, input, output, handle).finally(() => inFlight.delete(p));
        inFlight.add(p);
      },
    });
  }

  async function answer<I extends DescMessage, O extends DescMessage>(
    msg: ServiceMsg,
    name: DbbEndpoint,
    input: I,
    output: O,
    handle: (request: MessageShape<I>) => Promise<MessageInitShape<O>>,
  ): Promise<void> {
    try {
      let request: MessageShape<I>;
      try {
        request = fromBinary(input, msg.data);
      } catch (err) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `dbb.${name}: the request is not a ${input.typeName} message`, { cause: err });
      }
      const body = toBinary(output, create(output, await handle(request)));
      const limit = nc.info?.max_payload ?? Infinity;
      if (body.length > limit) {
        throw new OrreryError(ErrorCode.INTERNAL, `dbb.${name}: the answer has ${body.length} bytes, over the NATS max_payload of ${limit}`, {
          hint: "ask for smaller pages (page_size), or raise max_payload of nats-server",
        });
      }
      msg.respond(body);
    } catch (err) {
      replyError(msg, name, err);
    }
  }

  endpoint("rse.add", RseAddRequestSchema, RseAddResponseSchema, async (req) => {
    if (!req.rse) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "rse.add: the request has no rse");
    const rse = await catalog.addRse(req.rse);
    log.info({ rse: rse.name, site: rse.site, tier: storageTiers.name(rse.tier) }, "rse added");
    return { rse };
  });
  endpoint("rse.list", RseListRequestSchema, RseListResponseSchema, async (req) => ({ rses: await catalog.listRses(req.site) }));
  endpoint("register", RegisterRequestSchema, RegisterResponseSchema, async (req) => {
    const result = await catalog.register(req.replicas);
    onRegistered(result.events);
    // Stored already; the new files' subscription rules are made before the answer (failures stay pending for a retry).
    await policies.applyNew(result.created);
    return { registered: result.registered };
  });
  endpoint("replicas", ReplicaListRequestSchema, ReplicaListResponseSchema, (req) => catalog.replicas(req.did, req.pageToken, req.pageSize));
  endpoint("files", FileQueryRequestSchema, FileQueryResponseSchema, (req) => catalog.filesPage(req.scope, req.datasetTypes, req.pageToken, req.pageSize));
  endpoint("attach", AttachRequestSchema, AttachResponseSchema, async (req) => {
    const attached = await catalog.attach(req.parent, req.dids);
    log.info({ parent: req.parent, attached: attached.length }, "attached");
    return { attached };
  });
  endpoint("detach", DetachRequestSchema, DetachResponseSchema, async (req) => {
    const detached = await catalog.detach(req.parent, req.dids);
    log.info({ parent: req.parent, detached: detached.length }, "detached");
    return { detached };
  });
  endpoint("contents", ContentsRequestSchema, ContentsResponseSchema, async (req) => {
    const page = await catalog.contents(req.did, req.pageToken, req.pageSize);
    return { type: contentsDidType(page.type), open: page.open, contents: page.contents.map((c) => ({ did: c.did, type: contentsDidType(c.type) })), nextPageToken: page.nextPageToken };
  });
  endpoint("close", CloseRequestSchema, CloseResponseSchema, async (req) => {
    const closed = await catalog.closeCollection(req.did);
    log.info({ did: closed.did }, "collection closed");
    return { did: closed.did, type: contentsDidType(closed.type) };
  });

  endpoint("rule.add", RuleAddRequestSchema, RuleAddResponseSchema, async (req) => {
    const rule = await rules.add({
      did: req.did,
      rseExpression: req.rseExpression,
      copies: req.copies === 0 ? 1 : req.copies,
      ...(req.lifetime !== "" ? { lifetime: req.lifetime } : {}),
      ...(req.grouping !== "" ? { grouping: req.grouping } : {}),
      weight: req.weight,
      sourceExpression: req.sourceExpression,
      locked: req.locked,
    });
    log.info({ rule: rule.id, did: rule.did, expression: rule.rseExpression, copies: rule.copies }, "rule added");
    return { rule: ruleToProto(rule) };
  });
  endpoint("rule.list", RuleListRequestSchema, RuleListResponseSchema, async (req) => {
    const ids = await rules.store.ids(req.did === "" ? undefined : req.did);
    const start = req.pageToken === "" ? 0 : Number(req.pageToken);
    if (!Number.isInteger(start) || start < 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rule.list: "${req.pageToken}" is not a page token`);
    const size = req.pageSize > 0 ? Math.min(req.pageSize, 1000) : 500;
    const page = await rules.store.many(ids.slice(start, start + size));
    return { rules: page.map(ruleToProto), nextPageToken: start + size < ids.length ? String(start + size) : "" };
  });
  endpoint("rule.show", RuleShowRequestSchema, RuleShowResponseSchema, async (req) => ({ rule: ruleToProto(await rules.store.get(req.id)) }));
  endpoint("rule.delete", RuleDeleteRequestSchema, RuleDeleteResponseSchema, async (req) => ({ rule: ruleToProto(await rules.delete(req.id)) }));
  endpoint("rule.update", RuleUpdateRequestSchema, RuleUpdateResponseSchema, async (req) => {
    await rules.store.get(req.id);
    if (req.locked !== undefined) await rules.store.setLocked(req.id, req.locked);
    if (req.lifetime !== "") await rules.store.setLifetime(req.id, parseDuration(req.lifetime, "lifetime"));
    return { rule: ruleToProto(await rules.store.get(req.id)) };
  });

  // Rucio's declare_bad_file_replicas, for readers whose bytes did not match the catalog.
  endpoint("replica.bad", BadReplicaRequestSchema, BadReplicaResponseSchema, async (req) => {
    const { state, events } = await declareBadReplica(ledger, req);
    onRegistered(events);
    return { state };
  });
  // The coordinator names a quantum's accepted outputs: other attempts' replicas of them become obsolete.
  endpoint("replica.settle", ReplicaSettleRequestSchema, ReplicaSettleResponseSchema, async (req) => {
    if (req.keep.length > 10_000) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `replica.settle: ${req.keep.length} replicas in one request; at most 10000`);
    const events = await outputs.settle(req.producedBy, req.keep.map((k) => ({ did: k.did, rse: k.rse })));
    onRegistered(events);
    return { obsoleted: events.map((e) => ({ did: e.did, rse: e.rse })) };
  });
  endpoint("replica.url", ReplicaUrlRequestSchema, ReplicaUrlResponseSchema, (req) => replicaUrl(catalog, req));
  endpoint("policy.set", PolicySetRequestSchema, PolicySetResponseSchema, async (req) => {
    const r = await policies.set(req.policyJson);
    return { policyJson: JSON.stringify(r.policy), retroactiveFiles: BigInt(r.retroactiveFiles), retroactiveRules: BigInt(r.retroactiveRules) };
  });
  endpoint("policy.show", PolicyShowRequestSchema, PolicyShowResponseSchema, async (req) => ({ policyJson: JSON.stringify(await policies.show(req.site)) }));

  return {
    async stop() {
      await svc.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}

function replyError(msg: ServiceMsg, name: DbbEndpoint, err: unknown): void {
  const e = OrreryError.from(err);
  const message = e.message;
  if (e.code === ErrorCode.INTERNAL || e.code === ErrorCode.UNAVAILABLE) log.warn({ endpoint: name, code: e.code, err: e.message }, "request failed");
  else log.debug({ endpoint: name, code: e.code, err: e.message }, "request refused");
  const h = headers();
  h.set(ERROR_HEADER, e.code);
  if (e.hint) h.set(ERROR_HINT_HEADER, e.hint.replace(/[\r\n]+/g, " "));
  const body = toBinary(DbbErrorSchema, create(DbbErrorSchema, { code: e.code, message }));
  try {
    msg.respondError(statusOf[e.code] ?? 500, message.replace(/[\r\n]+/g, " "), body, { headers: h } as unknown as ServiceReplyOptions);
  } catch (replyErr) {
    log.warn({ endpoint: name, err: String(replyErr) }, "could not send the error reply");
  }
}
