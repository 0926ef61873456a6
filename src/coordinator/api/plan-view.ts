// The Plan RPC's answer: a planned graph as compact wire messages. Quanta are
// sent one by one only for plans small enough to draw; every plan carries its
// per-task counts and task-to-task edge counts.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { dataIdKey } from "../../common/data-id.js";
import type { GetConfigResponseSchema, PlanResponseSchema } from "../../gen/orrery/v1/coordinator_pb.js";
import type { CampaignSpec, PlannedGraph } from "../campaign/index.js";

/** Above this many quanta a plan carries no per-quantum list (the CLI then draws tasks, not quanta). */
export const PLAN_QUANTA_LIMIT = 2000;

type PlanResponseInit = MessageInitShape<typeof PlanResponseSchema>;
type GetConfigResponseInit = MessageInitShape<typeof GetConfigResponseSchema>;

const unique = (xs: readonly string[]): string[] => [...new Set(xs)];

export function planResponse(spec: CampaignSpec, graph: PlannedGraph, limit = PLAN_QUANTA_LIMIT): PlanResponseInit {
  const taskIndex = new Map(spec.tasks.map((t, i) => [t.name, i]));
  // Tasks in topological order: a task downstream of a deferred one is deferred too.
  const deferred = new Set<string>();
  for (const t of spec.tasks) if (t.deferred || t.upstream.some((u) => deferred.has(u))) deferred.add(t.name);
  const tasks = spec.tasks.map((t) => {
    const roles = Object.values(t.inputs);
    return {
      task: t.name,
      quanta: graph.tasks[t.name]?.quanta ?? 0,
      dropped: graph.tasks[t.name]?.dropped ?? 0,
      upstream: t.upstream,
      inputTypes: unique(roles.map((r) => r.datasetType)),
      calibrationTypes: unique(roles.filter((r) => r.calibration).map((r) => r.datasetType)),
      outputTypes: unique(Object.values(t.outputs).map((o) => o.datasetType)),
      deferred: deferred.has(t.name),
    };
  });

  // Edge counts between tasks, keyed "from,to".
  const taskEdges = new Map<string, { from: number; to: number; count: number }>();
  for (const q of graph.quanta) {
    const to = taskIndex.get(q.task) ?? 0;
    for (const u of q.upstream) {
      const from = taskIndex.get(graph.quanta[u]?.task ?? "") ?? 0;
      const key = `${from},${to}`;
      const e = taskEdges.get(key) ?? taskEdges.set(key, { from, to, count: 0 }).get(key)!;
      e.count++;
    }
  }

  const detailed = graph.quanta.length <= limit;
  return {
    campaign: spec.name,
    tasks,
    quanta: graph.quanta.length,
    edges: graph.edges,
    inputDatasets: graph.inputs.datasets,
    inputBytes: BigInt(graph.inputs.bytes),
    plannedQuanta: detailed ? graph.quanta.map((q) => ({ task: taskIndex.get(q.task) ?? 0, dataId: dataIdKey(q.dataId), upstream: q.upstream })) : [],
    quantaLimit: limit,
    taskEdges: [...taskEdges.values()],
  };
}

/** A campaign's resolved config on the wire, tasks in pipeline order, values as JSON scalars. */
export function configResponse(spec: CampaignSpec): GetConfigResponseInit {
  return {
    campaign: spec.name,
    tasks: spec.tasks.map((t) => ({
      task: t.name,
      entries: Object.entries(t.resolvedConfig ?? {}).map(([key, setting]) => ({
        key,
        valueJson: JSON.stringify(setting.value),
        history: setting.history.map((h) => ({ valueJson: JSON.stringify(h.value), source: h.source })),
      })),
    })),
  };
}
