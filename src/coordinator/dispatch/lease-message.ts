import { create } from "@bufbuild/protobuf";
import { LeaseSchema, type Lease } from "../../gen/orrery/v1/agent_link_pb.js";
import { dataIdKey } from "../../common/data-id.js";
import type { LeaseGrant } from "../workload/index.js";

/** The Lease an agent receives: everything it needs to run the quantum without asking back. */
export function leaseMessage(grant: LeaseGrant): Lease {
  const { quantum: q, campaign: c } = grant;
  const task = c.taskByName.get(q.task)!;
  const r = task.resources;
  return create(LeaseSchema, {
    leaseId: grant.leaseId,
    quantumId: q.id,
    attempt: grant.attempt,
    campaign: c.name,
    task: q.task,
    dataId: dataIdKey(q.dataId),
    command: task.command,
    inputs: q.inputs.map((i) => ({
      did: i.did,
      datasetType: i.datasetType,
      dataId: dataIdKey(i.dataId),
      bytes: BigInt(i.bytes ?? 0),
      adler32: i.adler32 ?? "",
      md5: i.md5 ?? "",
      rses: i.rses ?? [],
      role: i.role,
      metadata: JSON.stringify(i.metadata),
    })),
    outputs: q.outputs.map((o) => ({
      did: o.did,
      datasetType: o.datasetType,
      dataId: dataIdKey(o.dataId),
      role: o.role,
      metadata: JSON.stringify(o.metadata),
    })),
    configJson: JSON.stringify(task.config),
    resources: {
      cores: r.cores,
      memoryMb: grant.memoryMB,
      diskMb: r.diskMB,
      softTimeLimitS: r.softTimeLimit ?? 0,
      timeLimitS: r.timeLimit,
    },
    // Outputs go into one DATASET per task and run, inside one CONTAINER per run: a rule or
    // download can take a whole run or one task's outputs. Task names hold no '/' and output
    // files sit two levels below the run (run/type/file), so within a run no two names meet.
    outputCollection: `${c.spec.output.scope}:${c.spec.output.run}/${q.task}`,
    outputContainer: `${c.spec.output.scope}:${c.spec.output.run}`,
    deadlineMs: BigInt(grant.deadlineMs),
  });
}
