// What `orrery plan` prints from a PlanResponse: the CONTRACT's JSON, a
// summary for people, and the quantum graph as Graphviz DOT.
import { parseDataId } from "../common/data-id.js";
import type { PlanResponse } from "../gen/orrery/v1/coordinator_pb.js";
import { formatBytes } from "./status-view.js";

/** Above this many quanta `--dot` draws tasks with counts instead of every quantum. */
export const DOT_QUANTA_LIMIT = 2000;

export interface PlanJson {
  tasks: Record<string, { quanta: number; dropped: number }>;
  quanta: number;
  edges: number;
  inputs: { datasets: number; bytes: number };
}

export function planToJson(plan: PlanResponse): PlanJson {
  return {
    tasks: Object.fromEntries(plan.tasks.map((t) => [t.task, { quanta: t.quanta, dropped: t.dropped }])),
    quanta: plan.quanta,
    edges: plan.edges,
    inputs: { datasets: plan.inputDatasets, bytes: Number(plan.inputBytes) },
  };
}

export interface PlanRow {
  task: string;
  /** "deferred" for a task expanded only once its upstream is done. */
  quanta: number | string;
  dropped: number;
  upstream: string;
  inputs: string;
  outputs: string;
}

/** One row per task, in pipeline order; calibration inputs are marked. */
export function planRows(plan: PlanResponse): PlanRow[] {
  return plan.tasks.map((t) => ({
    task: t.task,
    quanta: t.deferred ? "deferred" : t.quanta,
    dropped: t.dropped,
    upstream: t.upstream.length === 0 ? "-" : t.upstream.join(", "),
    inputs: t.inputTypes.map((d) => (t.calibrationTypes.includes(d) ? `${d} (calibration)` : d)).join(", "),
    outputs: t.outputTypes.join(", "),
  }));
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function planHeadline(plan: PlanResponse): string {
  const reads = `${count(plan.inputDatasets, "dataset", "datasets")} (${formatBytes(Number(plan.inputBytes))})`;
  return `campaign ${plan.campaign}: ${count(plan.quanta, "quantum", "quanta")}, ${count(plan.edges, "edge", "edges")}, reads ${reads}`;
}

/** A DOT string literal of lines: Graphviz reads `\n` in a string as a line break. */
function quote(...lines: string[]): string {
  return `"${lines.map((l) => l.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).join("\\n")}"`;
}

function dataIdLabel(json: string): string {
  return Object.entries(parseDataId(json))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(", ");
}

export interface PlanDot {
  dot: string;
  /** True when the plan was too big to draw quantum by quantum. */
  taskLevel: boolean;
}

/**
 * The plan as a DOT digraph: one node per quantum labelled with its task and
 * data id, clustered per task, edges upstream → downstream. A plan of more
 * than `limit` quanta (or one the coordinator sent without its quanta) is
 * drawn per task, each edge labelled with how many quantum edges it stands for.
 */
export function planToDot(plan: PlanResponse, limit = DOT_QUANTA_LIMIT): PlanDot {
  const lines = [`digraph ${quote(plan.campaign)} {`, "  rankdir=TB;", '  node [shape=box, fontname="Helvetica", fontsize=10];'];
  const quanta = plan.plannedQuanta;
  const taskLevel = plan.quanta > limit || quanta.length !== plan.quanta;
  if (taskLevel) {
    plan.tasks.forEach((t, i) => lines.push(`  t${i} [label=${quote(t.task, count(t.quanta, "quantum", "quanta"))}];`));
    for (const e of plan.taskEdges) lines.push(`  t${e.from} -> t${e.to} [label=${quote(String(e.count))}];`);
  } else {
    plan.tasks.forEach((t, ti) => {
      // A deferred task's quanta are not known yet: one dashed node stands for them.
      if (t.deferred) {
        lines.push(`  d${ti} [label=${quote(t.task, "deferred")}, style=dashed];`);
        return;
      }
      lines.push(`  subgraph ${quote(`cluster_${ti}`)} {`, `    label=${quote(`${t.task} (${t.quanta})`)};`);
      quanta.forEach((q, qi) => {
        if (q.task === ti) lines.push(`    q${qi} [label=${quote(t.task, dataIdLabel(q.dataId))}];`);
      });
      lines.push("  }");
    });
    quanta.forEach((q, qi) => {
      for (const u of q.upstream) lines.push(`  q${u} -> q${qi};`);
    });
  }
  lines.push("}");
  return { dot: `${lines.join("\n")}\n`, taskLevel };
}
