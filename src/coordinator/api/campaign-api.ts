// The CLI's API: gRPC CampaignService over the workload manager's indexes.
import { CampaignAction, type CampaignService } from "../../gen/orrery/v1/coordinator_pb.js";
import type { MethodsOf, UnaryImplementation } from "../../common/grpc-service.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { dataIdKey } from "../../common/data-id.js";
import { attemptOutcomes, campaignStates, nodeKinds, quantumStates } from "../../common/wire-enums.js";
import { AttemptOutcome, CampaignState, NodeKind, QuantumState } from "../../gen/orrery/v1/common_pb.js";
import type { NatsConnection } from "../../common/nats.js";
import type { CampaignStatusView, QuantaStore, WorkloadManager } from "../workload/index.js";
import type { AgentLink } from "../dispatch/index.js";
import { expandGraph, fetchCatalog, parseCampaignIsolated, type CampaignSpec } from "../campaign/index.js";
import type { SubmitRequest } from "../../gen/orrery/v1/coordinator_pb.js";
import { configResponse, planResponse } from "./plan-view.js";
import { ticketApi } from "./ticket-api.js";
import { reportCampaign, reportResponse } from "./report-view.js";

/** The validated spec of a Submit or Plan request, parsed off the event loop; throws SPEC_INVALID listing every problem. */
function specOf(req: SubmitRequest): Promise<CampaignSpec> {
  return parseCampaignIsolated({
    specYaml: req.specYaml,
    sourceName: req.sourceName || "campaign.yaml",
    pipelineYaml: req.pipelineYaml === "" ? undefined : req.pipelineYaml,
    pipelineSourceName: req.pipelineSourceName,
    configOverrides: req.configOverrides,
    priority: req.priority,
  });
}

export function campaignApi(deps: { manager: WorkloadManager; store: QuantaStore; nc: NatsConnection; link: AgentLink }) {
  const { manager, store, nc, link } = deps;
  /** How many attempts a quantum has made; undefined for an unknown quantum. */
  const attemptsOf = async (quantum: string): Promise<number | undefined> => manager.attempts(quantum);
  const agents = () => [...link.sessions.values()];
  const counts = (c: CampaignStatusView["counts"]) => c.map(([state, count]) => ({ state: quantumStates.value(state) ?? QuantumState.UNSPECIFIED, count }));
  const controlled = (r: { campaign: string; state: string }) => ({ campaign: r.campaign, state: campaignStates.value(r.state) ?? CampaignState.UNSPECIFIED });
  const toStatus = (v: CampaignStatusView) => ({
    ...v,
    state: campaignStates.value(v.state) ?? CampaignState.UNSPECIFIED,
    counts: counts(v.counts),
    tasks: v.tasks.map((t) => ({ task: t.task, counts: counts(t.counts) })),
    createdMs: BigInt(v.createdMs),
    finishedMs: BigInt(v.finishedMs),
  });

  return {
    ...ticketApi({ manager, store }),
    async submit(req) {
      const spec = await specOf(req);
      const catalog = await fetchCatalog(nc, spec);
      const graph = expandGraph(spec, catalog);
      return manager.submit(spec, graph);
    },
    async plan(req) {
      // Same parsing and expansion as submit; nothing is stored.
      const spec = await specOf(req);
      const graph = expandGraph(spec, await fetchCatalog(nc, spec));
      return planResponse(spec, graph);
    },
    async getConfig(req) {
      return configResponse(await manager.spec(req.campaign));
    },
    async getProvenance(req) {
      const made = req.attempt === 0 ? await attemptsOf(req.quantum) : undefined;
      if (made === undefined && req.attempt === 0) throw new OrreryError(ErrorCode.NOT_FOUND, `no quantum ${req.quantum}`, { hint: "list them with `orrery quanta CAMPAIGN`" });
      // The latest attempt that has a record: one still running has none yet.
      const attempts = req.attempt !== 0 ? [req.attempt] : Array.from({ length: made ?? 0 }, (_, i) => i + 1).reverse();
      for (const attempt of attempts) {
        const record = await store.getProvenance(req.quantum, attempt);
        if (record !== undefined && record !== "") return { attempt, provenanceJson: record };
      }
      if (req.attempt !== 0) throw new OrreryError(ErrorCode.NOT_FOUND, `no provenance for attempt ${req.attempt} of ${req.quantum}`, { hint: "an attempt that is still running or was lost has none; see `orrery quanta CAMPAIGN`" });
      throw new OrreryError(ErrorCode.NOT_FOUND, `quantum ${req.quantum} has no provenance record yet`, { hint: "it has not finished an attempt; see its state with `orrery quanta CAMPAIGN`" });
    },
    async status(req) {
      // Served from memory, but not while Redis is down: what it shows might not survive, and the operator must learn of the outage.
      await store.ping();
      return { campaigns: (await manager.status(req.campaign === "" ? undefined : req.campaign, agents())).map(toStatus) };
    },
    async listQuanta(req) {
      const state = quantumStates.name(req.state);
      if (state === undefined && req.state !== QuantumState.UNSPECIFIED) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `state: ${req.state} is not a QuantumState this coordinator knows`, { hint: "update the coordinator to match the CLI" });
      }
      const listed = await manager.quanta(req.campaign, { ...(state !== undefined ? { state } : {}), task: req.task });
      return {
        quanta: listed.map(({ definition: q, state, attempts }) => ({
          id: q.id,
          task: q.task,
          dataId: dataIdKey(q.dataId),
          state: quantumStates.value(state) ?? QuantumState.UNSPECIFIED,
          inputs: q.inputs.map((input) => input.did),
          outputs: q.outputs.map((o) => o.did),
          attempts: attempts.map((a) => ({ ...a, outcome: attemptOutcomes.value(a.outcome) ?? AttemptOutcome.UNSPECIFIED, startMs: BigInt(a.startMs), endMs: BigInt(a.endMs) })),
        })),
      };
    },
    async getLogs(req) {
      const made = await attemptsOf(req.quantum);
      if (made === undefined) throw new OrreryError(ErrorCode.NOT_FOUND, `no quantum ${req.quantum}`, { hint: "list them with `orrery quanta CAMPAIGN`" });
      const attempt = req.attempt || made;
      if (attempt === 0) throw new OrreryError(ErrorCode.NOT_FOUND, `quantum ${req.quantum} has not run yet`);
      const logs = await store.getLogs(req.quantum, attempt);
      if (!logs) throw new OrreryError(ErrorCode.NOT_FOUND, `no logs for attempt ${attempt} of ${req.quantum}`, { hint: "an attempt that is still running or was lost has none" });
      return { attempt, ...logs };
    },
    async controlCampaign(req) {
      // Refused at once while Redis is down: a change that could not be stored now would be stored later, unannounced.
      await store.ping();
      switch (req.action) {
        case CampaignAction.PAUSE:
          return controlled(await manager.pause(req.campaign));
        case CampaignAction.RESUME:
          return controlled(await manager.resume(req.campaign));
        case CampaignAction.CANCEL: {
          const { leases, ...res } = await manager.cancel(req.campaign);
          link.cancelLeases(leases, `campaign ${req.campaign} was cancelled`);
          return { ...controlled(res), cancelledLeases: leases.length };
        }
        case CampaignAction.UNSPECIFIED:
          throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "action: expected pause, resume or cancel", { hint: "update the CLI to match the coordinator" });
        default:
          throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `action ${String(req.action)}: not one this coordinator knows`, { hint: "update the coordinator to match the CLI" });
      }
    },
    async report(req) {
      return reportResponse(await manager.accounting(reportCampaign(req.campaign)));
    },
    async setPriority(req) {
      await store.ping();
      return manager.setPriority(req.campaign, req.priority);
    },
    async listAgents() {
      return {
        agents: [...link.sessions.values()].map((s) => {
          return { id: s.id, site: s.site, kind: nodeKinds.value(s.kind) ?? NodeKind.UNSPECIFIED, cores: s.cores, freeCores: s.idleCores(), running: s.running, cacheBytes: BigInt(s.cacheBytes), memoryMb: s.memoryMB, batchJob: s.batchJob, leaveByMs: BigInt(s.leaveByMs ?? 0) };
        }),
      };
    },
  } satisfies UnaryImplementation<MethodsOf<typeof CampaignService>>;
}
