// The CLI's API: gRPC CampaignService over the workload manager's indexes.
import { CampaignAction, type CampaignService } from "../../gen/orrery/v1/coordinator_pb.js";
import type { MethodsOf, UnaryImplementation } from "../../common/grpc-service.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { dataIdKey } from "../../common/data-id.js";
import type { NatsConnection } from "../../common/nats.js";
import { resolvedDefinitions, unschedulableTasks, type LiveCampaign, type QuantaStore, type QuantumRef, type WorkloadManager } from "../workload/index.js";
import type { AgentLink } from "../dispatch/index.js";
import { expandGraph, fetchCatalog, parseCampaign, type CampaignSpec } from "../campaign/index.js";
import type { SubmitRequest } from "../../gen/orrery/v1/coordinator_pb.js";
import { configResponse, planResponse } from "./plan-view.js";

/** The validated spec of a Submit or Plan request; throws SPEC_INVALID listing every problem. */
function specOf(req: SubmitRequest): CampaignSpec {
  return parseCampaign({
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
  const table = manager.table;
  /** How many attempts a quantum has made (its stored progress is current: handlers persist before they answer). */
  const attemptsOf = async (q: QuantumRef | undefined): Promise<number> => {
    if (!q) return 0;
    const id = q.c.rows.id(q.row);
    return (await store.getProgress(q.c.name, [id])).get(id)?.attempts.length ?? 0;
  };
  const campaign = (name: string): LiveCampaign => {
    const c = table.campaigns.get(name);
    if (!c) throw new OrreryError(ErrorCode.NOT_FOUND, `no campaign named ${name}`, { hint: "see `orrery status` for the campaigns there are" });
    return c;
  };
  const statusOf = (c: LiveCampaign) => ({
    campaign: c.name,
    state: c.state,
    priority: c.priority,
    share: c.share,
    counts: Object.entries(c.counts).filter(([, n]) => n > 0).map(([state, count]) => ({ state, count })),
    tasks: c.tasks.map((t) => ({ task: t, counts: Object.entries(c.taskCounts.get(t) ?? {}).filter(([, n]) => n > 0).map(([state, count]) => ({ state, count })) })),
    failures: c.failures,
    kills: c.kills,
    createdMs: BigInt(c.createdMs),
    finishedMs: BigInt(c.finishedMs),
    unschedulable: c.state === "RUNNING" ? unschedulableTasks(c, [...link.sessions.values()]) : [],
  });

  return {
    async submit(req) {
      const spec = specOf(req);
      const catalog = await fetchCatalog(nc, spec);
      const graph = expandGraph(spec, catalog);
      return manager.submit(spec, graph);
    },
    async plan(req) {
      // Same parsing and expansion as submit; nothing is stored.
      const spec = specOf(req);
      const graph = expandGraph(spec, await fetchCatalog(nc, spec));
      return planResponse(spec, graph);
    },
    async getConfig(req) {
      return configResponse(campaign(req.campaign).spec);
    },
    async getProvenance(req) {
      const q = table.find(req.quantum);
      if (!q && req.attempt === 0) throw new OrreryError(ErrorCode.NOT_FOUND, `no quantum ${req.quantum}`, { hint: "list them with `orrery quanta CAMPAIGN`" });
      // The latest attempt that has a record: one still running has none yet.
      const attempts = req.attempt !== 0 ? [req.attempt] : Array.from({ length: await attemptsOf(q) }, (_, i) => i + 1).reverse();
      for (const attempt of attempts) {
        const record = await store.getProvenance(req.quantum, attempt);
        if (record !== undefined && record !== "") return { attempt, provenanceJson: record };
      }
      if (req.attempt !== 0) throw new OrreryError(ErrorCode.NOT_FOUND, `no provenance for attempt ${req.attempt} of ${req.quantum}`, { hint: "an attempt that is still running or was lost has none; see `orrery quanta CAMPAIGN`" });
      throw new OrreryError(ErrorCode.NOT_FOUND, `quantum ${req.quantum} has no provenance record yet`, { hint: "it has not finished an attempt; see its state with `orrery quanta CAMPAIGN`" });
    },
    async status(req) {
      if (req.campaign !== "") return { campaigns: [statusOf(campaign(req.campaign))] };
      const all = [...table.campaigns.values()].sort((a, b) => a.createdMs - b.createdMs);
      return { campaigns: all.map(statusOf) };
    },
    async listQuanta(req) {
      const c = campaign(req.campaign);
      const state = req.state.toUpperCase();
      // Filtered on the index; only the quanta listed have their definitions read.
      const rows: number[] = [];
      for (let row = 0; row < c.rows.length; row++) {
        if (req.state !== "" && c.rows.state(row) !== state) continue;
        if (req.task !== "" && c.rows.task(row) !== req.task) continue;
        rows.push(row);
      }
      const ids = rows.map((row) => c.rows.id(row));
      const [definitions, progress] = await Promise.all([resolvedDefinitions(store, c, rows), store.getProgress(c.name, ids)]);
      return {
        quanta: definitions.map((q, i) => ({
          id: q.id,
          task: q.task,
          dataId: dataIdKey(q.dataId),
          state: c.rows.state(rows[i]!),
          inputs: q.inputs.map((input) => input.did),
          outputs: q.outputs.map((o) => o.did),
          attempts: (progress.get(q.id)?.attempts ?? []).map((a) => ({ ...a, startMs: BigInt(a.startMs), endMs: BigInt(a.endMs) })),
        })),
      };
    },
    async getLogs(req) {
      const q = table.find(req.quantum);
      if (!q) throw new OrreryError(ErrorCode.NOT_FOUND, `no quantum ${req.quantum}`, { hint: "list them with `orrery quanta CAMPAIGN`" });
      const attempt = req.attempt || (await attemptsOf(q));
      if (attempt === 0) throw new OrreryError(ErrorCode.NOT_FOUND, `quantum ${req.quantum} has not run yet`);
      const logs = await store.getLogs(req.quantum, attempt);
      if (!logs) throw new OrreryError(ErrorCode.NOT_FOUND, `no logs for attempt ${attempt} of ${req.quantum}`, { hint: "an attempt that is still running or was lost has none" });
      return { attempt, ...logs };
    },
    async controlCampaign(req) {
      switch (req.action) {
        case CampaignAction.PAUSE:
          return manager.pause(req.campaign);
        case CampaignAction.RESUME:
          return manager.resume(req.campaign);
        case CampaignAction.CANCEL: {
          const { leases, ...res } = await manager.cancel(req.campaign);
          link.cancelLeases(leases, `campaign ${req.campaign} was cancelled`);
          return { ...res, cancelledLeases: leases.length };
        }
        case CampaignAction.UNSPECIFIED:
          throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "action: expected pause, resume or cancel", { hint: "update the CLI to match the coordinator" });
        default:
          throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `action ${String(req.action)}: not one this coordinator knows`, { hint: "update the coordinator to match the CLI" });
      }
    },
    async setPriority(req) {
      return manager.setPriority(req.campaign, req.priority);
    },
    async listAgents() {
      return {
        agents: [...link.sessions.values()].map((s) => {
          const slot = s.slot();
          return { id: s.id, site: s.site, kind: s.kind, cores: s.cores, freeCores: Math.max(0, slot.freeCores), running: s.running, cacheBytes: s.cacheBytes, memoryMb: s.memoryMB };
        }),
      };
    },
  } satisfies UnaryImplementation<MethodsOf<typeof CampaignService>>;
}
