// The client side of the data backbone for every process: request/reply calls
// to the "dbb" NATS service, and acknowledged JetStream publishes of replica
// registrations (the path agents use so a success means "catalogued").
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import {
  AttachRequestSchema,
  AttachResponseSchema,
  CloseRequestSchema,
  CloseResponseSchema,
  ContentsRequestSchema,
  ContentsResponseSchema,
  DetachRequestSchema,
  DetachResponseSchema,
  BadReplicaRequestSchema,
  ReplicaSettleRequestSchema,
  ReplicaSettleResponseSchema,
  BadReplicaResponseSchema,
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
  ReplicaRegistrationSchema,
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
  RuleUpdateRequestSchema,
  RuleUpdateResponseSchema,
  type Rule,
  type FileWithReplicas,
  type Replica,
  type Rse,
  type RseSchema,
} from "../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "./errors.js";
import { dbbRequest, type NatsConnection } from "./nats.js";
import { Subjects } from "./subjects.js";
import { didTypeName, type DidTypeName } from "./did-type.js";

export type RseInit = MessageInitShape<typeof RseSchema>;
export type RuleAddInit = MessageInitShape<typeof RuleAddRequestSchema>;
export type RuleUpdateInit = MessageInitShape<typeof RuleUpdateRequestSchema>;
export type ReplicaRegistrationInit = MessageInitShape<typeof ReplicaRegistrationSchema>;

/** A collection's direct contents, and what the collection itself is. */
export interface Contents {
  did: string;
  type: DidTypeName;
  open: boolean;
  contents: { did: string; type: DidTypeName }[];
}

export class DbbClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 30_000,
  ) {}

  /** RSEs, all or those of one site, sorted by name. */
  async rseList(site?: string): Promise<Rse[]> {
    const res = await dbbRequest(this.nc, "rse.list", RseListRequestSchema, { site: site ?? "" }, RseListResponseSchema, this.timeoutMs);
    return res.rses;
  }

  /** Adds or replaces an RSE; returns it as stored. */
  async rseAdd(rse: RseInit): Promise<Rse> {
    const res = await dbbRequest(this.nc, "rse.add", RseAddRequestSchema, { rse }, RseAddResponseSchema, this.timeoutMs);
    if (!res.rse) throw new OrreryError(ErrorCode.INTERNAL, "dbb.rse.add answered without the RSE");
    return res.rse;
  }

  /** Registers replicas in one atomic catalog write; resolves once they are stored. */
  async register(registrations: readonly ReplicaRegistrationInit[]): Promise<number> {
    const res = await dbbRequest(this.nc, "register", RegisterRequestSchema, { replicas: [...registrations] }, RegisterResponseSchema, this.timeoutMs);
    return res.registered;
  }

  /** Replicas of a file DID, or of every file at or below a collection DID (`scope:name`), fetched page by page; sorted by DID, then RSE. */
  async replicas(did: string, pageSize = 0): Promise<Replica[]> {
    const byKey = new Map<string, Replica>();
    let pageToken = "";
    do {
      const res = await dbbRequest(this.nc, "replicas", ReplicaListRequestSchema, { did, pageToken, pageSize }, ReplicaListResponseSchema, this.timeoutMs);
      // A file in two datasets of a container comes once per dataset.
      for (const r of res.replicas) byKey.set(`${r.did}\n${r.rse}`, r);
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return [...byKey.values()].sort((a, b) => (a.did === b.did ? cmp(a.rse, b.rse) : cmp(a.did, b.did)));
  }

  /** Attaches DIDs to a collection (made if absent, typed by what it holds); returns those newly attached. */
  async attach(parent: string, dids: readonly string[]): Promise<string[]> {
    const res = await dbbRequest(this.nc, "attach", AttachRequestSchema, { parent, dids: [...dids] }, AttachResponseSchema, this.timeoutMs);
    return res.attached;
  }

  /** Detaches DIDs from a collection; each must be attached to it. */
  async detach(parent: string, dids: readonly string[]): Promise<string[]> {
    const res = await dbbRequest(this.nc, "detach", DetachRequestSchema, { parent, dids: [...dids] }, DetachResponseSchema, this.timeoutMs);
    return res.detached;
  }

  /** A DID's direct contents (none for a FILE), fetched page by page, sorted by DID. */
  async contents(did: string, pageSize = 0): Promise<Contents> {
    const seen = new Map<string, DidTypeName>();
    let pageToken = "";
    let head: { type: DidTypeName; open: boolean } | undefined;
    do {
      const res = await dbbRequest(this.nc, "contents", ContentsRequestSchema, { did, pageToken, pageSize }, ContentsResponseSchema, this.timeoutMs);
      head ??= { type: didTypeName(res.type), open: res.open };
      for (const c of res.contents) seen.set(c.did, didTypeName(c.type));
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    const contents = [...seen].map(([d, type]) => ({ did: d, type })).sort((a, b) => cmp(a.did, b.did));
    return { did, ...head!, contents };
  }

  /** What a DID is (and whether it is open), or undefined when the catalog does not hold it. */
  async describe(did: string): Promise<{ type: DidTypeName; open: boolean } | undefined> {
    try {
      const res = await dbbRequest(this.nc, "contents", ContentsRequestSchema, { did, pageSize: 1 }, ContentsResponseSchema, this.timeoutMs);
      return { type: didTypeName(res.type), open: res.open };
    } catch (err) {
      if (err instanceof OrreryError && err.code === ErrorCode.NOT_FOUND) return undefined;
      throw err;
    }
  }

  /** Closes a DATASET or CONTAINER: nothing can be attached to or detached from it afterwards. */
  async close(did: string): Promise<{ did: string; type: DidTypeName }> {
    const res = await dbbRequest(this.nc, "close", CloseRequestSchema, { did }, CloseResponseSchema, this.timeoutMs);
    return { did: res.did, type: didTypeName(res.type) };
  }

  /** Every file of a scope with one of the dataset types, with its replicas, fetched page by page (order not defined). */
  async files(scope: string, datasetTypes: readonly string[], pageSize = 0): Promise<FileWithReplicas[]> {
    const files: FileWithReplicas[] = [];
    const seen = new Set<string>();
    let pageToken = "";
    do {
      const res = await dbbRequest(this.nc, "files", FileQueryRequestSchema, { scope, datasetTypes: [...datasetTypes], pageToken, pageSize }, FileQueryResponseSchema, this.timeoutMs);
      // SSCAN may return a member twice while Redis rehashes the set.
      for (const f of res.files) {
        const did = `${f.file?.scope ?? ""}:${f.file?.name ?? ""}`;
        if (!seen.has(did)) {
          seen.add(did);
          files.push(f);
        }
      }
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return files;
  }

  /** Adds a rule; resolves once its locks are written and its transfers queued. */
  async ruleAdd(rule: RuleAddInit): Promise<Rule> {
    return required((await dbbRequest(this.nc, "rule.add", RuleAddRequestSchema, rule, RuleAddResponseSchema, this.timeoutMs)).rule, "rule.add");
  }

  /** Every rule (or those on one DID), fetched page by page. */
  async ruleList(did = ""): Promise<Rule[]> {
    const rules: Rule[] = [];
    let pageToken = "";
    do {
      const res = await dbbRequest(this.nc, "rule.list", RuleListRequestSchema, { did, pageToken }, RuleListResponseSchema, this.timeoutMs);
      rules.push(...res.rules);
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return rules;
  }

  async ruleShow(id: string): Promise<Rule> {
    return required((await dbbRequest(this.nc, "rule.show", RuleShowRequestSchema, { id }, RuleShowResponseSchema, this.timeoutMs)).rule, "rule.show");
  }

  async ruleDelete(id: string): Promise<Rule> {
    return required((await dbbRequest(this.nc, "rule.delete", RuleDeleteRequestSchema, { id }, RuleDeleteResponseSchema, this.timeoutMs)).rule, "rule.delete");
  }

  async ruleUpdate(update: RuleUpdateInit): Promise<Rule> {
    return required((await dbbRequest(this.nc, "rule.update", RuleUpdateRequestSchema, update, RuleUpdateResponseSchema, this.timeoutMs)).rule, "rule.update");
  }

  /** Declares the replica of a file at an RSE BAD (its bytes do not match the catalog); returns its state now (BAD, or COPYING when copied again). */
  async declareBad(did: string, rse: string, reason: string): Promise<string> {
    return (await dbbRequest(this.nc, "replica.bad", BadReplicaRequestSchema, { did, rse, reason }, BadReplicaResponseSchema, this.timeoutMs)).state;
  }
  /** A quantum's accepted outputs: every other unlocked replica of those files the quantum produced is made obsolete; returns those. */
  async settleOutputs(producedBy: string, keep: readonly { did: string; rse: string }[]): Promise<{ did: string; rse: string }[]> {
    const res = await dbbRequest(this.nc, "replica.settle", ReplicaSettleRequestSchema, { producedBy, keep: [...keep] }, ReplicaSettleResponseSchema, this.timeoutMs);
    return res.obsoleted.map((r) => ({ did: r.did, rse: r.rse }));
  }

  /** A presigned GET of the AVAILABLE replica of a file at an RSE (for a reader without that site's S3 key). */
  async replicaUrl(did: string, rse: string): Promise<string> {
    return (await dbbRequest(this.nc, "replica.url", ReplicaUrlRequestSchema, { did, rse }, ReplicaUrlResponseSchema, this.timeoutMs)).url;
  }
  /** Sets a site's replication policy (JSON of the policy file); retroactive subscriptions are applied before it answers. */
  async policySet(policyJson: string): Promise<PolicySetReply> {
    const res = await dbbRequest(this.nc, "policy.set", PolicySetRequestSchema, { policyJson }, PolicySetResponseSchema, this.timeoutMs);
    return { policyJson: res.policyJson, retroactiveFiles: Number(res.retroactiveFiles), retroactiveRules: Number(res.retroactiveRules) };
  }

  /** A site's replication policy as JSON text. */
  async policyShow(site: string): Promise<string> {
    return (await dbbRequest(this.nc, "policy.show", PolicyShowRequestSchema, { site }, PolicyShowResponseSchema, this.timeoutMs)).policyJson;
  }
}

/** What `policy.set` answers: the policy as stored (JSON text) and what its retroactive subscriptions did. */
export interface PolicySetReply {
  policyJson: string;
  retroactiveFiles: number;
  retroactiveRules: number;
}

function required<T>(value: T | undefined, endpoint: string): T {
  if (value === undefined) throw new OrreryError(ErrorCode.INTERNAL, `dbb.${endpoint} answered without its result`);
  return value;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Publishes a replica registration to JetStream and waits for the stream to
 * store it; the dbb registers it from there. Throws UNAVAILABLE naming NATS.
 */
export async function publishReplicaRegistration(js: JetStreamClient, registration: ReplicaRegistrationInit): Promise<PubAck> {
  const data = toBinary(ReplicaRegistrationSchema, create(ReplicaRegistrationSchema, registration));
  try {
    return await js.publish(Subjects.replicaRegister, data);
  } catch (err) {
    const did = `${registration.file?.scope ?? ""}:${registration.file?.name ?? ""}`;
    throw new OrreryError(ErrorCode.UNAVAILABLE, `NATS JetStream did not accept the registration of ${did} on ${Subjects.replicaRegister}: ${(err as Error).message}`, {
      cause: err,
      hint: "check that nats-server runs with JetStream and that the dbb has created stream DBB_REPLICAS (orrery local status)",
    });
  }
}
