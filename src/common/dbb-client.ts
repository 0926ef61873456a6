// The client side of the data backbone for every process: request/reply calls
// to the "dbb" NATS service, and acknowledged JetStream publishes of replica
// registrations (the path agents use so a success means "catalogued").
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import {
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

export type RseInit = MessageInitShape<typeof RseSchema>;
export type RuleAddInit = MessageInitShape<typeof RuleAddRequestSchema>;
export type RuleUpdateInit = MessageInitShape<typeof RuleUpdateRequestSchema>;
export type ReplicaRegistrationInit = MessageInitShape<typeof ReplicaRegistrationSchema>;

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

  /** Replicas of a file DID, or of every file of a collection DID (`scope:name`). */
  async replicas(did: string): Promise<Replica[]> {
    const res = await dbbRequest(this.nc, "replicas", ReplicaListRequestSchema, { did }, ReplicaListResponseSchema, this.timeoutMs);
    return res.replicas;
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
