import type { z } from "../../common/zod.js";
import { CampaignFileSchema, PipelineFileSchema, PipelineSchema, type CampaignFile, type TaskSpec } from "./spec-schema.js";
import { PositionedYaml, specInvalid, zodProblems, type SpecProblem } from "./spec-errors.js";
import { parseOverride, resolveConfig, type ConfigValue, type ResolvedConfig } from "./config-resolution.js";
import { builtinCommandProblem, isNoopCommand, NOOP_COMMAND } from "../../common/builtin-commands.js";

export interface CampaignSource {
  specYaml: string;
  sourceName: string;
  pipelineYaml?: string | undefined;
  pipelineSourceName?: string | undefined;
  configOverrides?: readonly string[];
  priority?: number | undefined;
}

export interface TaskDefinition extends TaskSpec {
  name: string;
  config: Record<string, ConfigValue>;
  resolvedConfig: ResolvedConfig;
  /** Tasks whose outputs this task reads. */
  upstream: string[];
}

/** A validated campaign, typed from here on. */
export interface CampaignSpec extends Omit<CampaignFile, "pipeline" | "config"> {
  /** Tasks in topological order. */
  tasks: TaskDefinition[];
  source: string;
}

/** Parses and validates a campaign file (and its pipeline file); throws SPEC_INVALID listing every problem. */
export function parseCampaign(src: CampaignSource): CampaignSpec {
  const main = new PositionedYaml(src.sourceName, src.specYaml);
  const syntax = main.syntaxProblems();
  // Fields of a file that does not parse cannot be located: its syntax comes first.
  if (syntax.length > 0) throw specInvalid(syntax);

  // Every part that can be checked is checked, even when another part is
  // invalid, so the operator sees every problem at once.
  const raw: unknown = main.value();
  const problems: SpecProblem[] = [];
  const parsed = CampaignFileSchema.safeParse(raw);
  if (!parsed.success) problems.push(...zodProblems(main, parsed.error));
  const file = parsed.success ? parsed.data : undefined;

  const pipeline = loadPipeline(src, main, fieldOf(raw, "pipeline"), problems);
  const tasks = pipeline.tasks;
  const pipelineDoc = pipeline.doc;
  const taskPath = pipeline.taskPath;
  const producer = new Map<string, string>();
  const upstream = new Map<string, string[]>();
  let order: string[] | undefined;
  if (tasks !== undefined) {
    const taskNames = Object.keys(tasks);
    if (taskNames.length === 0) problems.push(pipelineDoc.problem(taskPath, "the pipeline has no tasks"));
    // Who produces each dataset type; a type made by two tasks is ambiguous (the first keeps it).
    for (const [name, task] of Object.entries(tasks)) {
      for (const [role, out] of Object.entries(task.outputs)) {
        const other = producer.get(out.datasetType);
        if (other !== undefined) {
          problems.push(pipelineDoc.problem([...taskPath, name, "outputs", role, "datasetType"], `${out.datasetType} is also produced by task ${other}`));
        } else producer.set(out.datasetType, name);
      }
      const builtin = builtinCommandProblem(task.command);
      if (builtin !== undefined) problems.push(pipelineDoc.problem([...taskPath, name, "command"], builtin));
      // The noop makes nothing, so outputs it declared would never exist for its consumers.
      if (isNoopCommand(task.command) && Object.keys(task.outputs).length > 0) {
        problems.push(pipelineDoc.problem([...taskPath, name, "outputs"], `${NOOP_COMMAND} makes no outputs; declare none`));
      }
      if (!Object.values(task.inputs).some((r) => !r.calibration)) {
        problems.push(pipelineDoc.problem([...taskPath, name, "inputs"], "a task needs at least one input that is not a calibration"));
      }
      const { softTimeLimit, timeLimit } = task.resources;
      if (softTimeLimit !== undefined && softTimeLimit > timeLimit) {
        problems.push(pipelineDoc.problem([...taskPath, name, "resources", "softTimeLimit"], "must not be longer than timeLimit"));
      }
    }
    for (const [name, task] of Object.entries(tasks)) {
      const ups = new Set<string>();
      for (const r of Object.values(task.inputs)) {
        const p = producer.get(r.datasetType);
        if (p !== undefined) ups.add(p);
      }
      upstream.set(name, [...ups]);
    }
    const topo = topoOrder(taskNames, upstream);
    if ("cycle" in topo) problems.push(pipelineDoc.problem(taskPath, `tasks form a cycle through their dataset types: ${topo.cycle.join(" → ")}`));
    else order = topo.order;
  }

  // Config: pipeline defaults → campaign file → --config, last wins.
  const fileConfig = new Map<string, Record<string, ConfigValue>>();
  for (const [key, value] of Object.entries(file?.config ?? partOf(CampaignFileSchema.shape.config, raw, "config") ?? {})) {
    const dot = key.indexOf(".");
    const task = key.slice(0, dot);
    if (tasks !== undefined && !(task in tasks)) problems.push(main.problem(["config", key], `no task named ${task} in the pipeline`));
    else (fileConfig.get(task) ?? fileConfig.set(task, {}).get(task)!)[key.slice(dot + 1)] = value;
  }
  const cliConfig: { task: string; key: string; value: ConfigValue }[] = [];
  for (const text of src.configOverrides ?? []) {
    const o = parseOverride(text);
    if (o === undefined) problems.push({ file: "--config", line: 0, path: text, message: "write --config task.key=value" });
    else if (tasks !== undefined && !(o.task in tasks)) problems.push({ file: "--config", line: 0, path: text, message: `no task named ${o.task} in the pipeline` });
    else cliConfig.push(o);
  }
  const allow = (file?.sites ?? partOf(CampaignFileSchema.shape.sites, raw, "sites"))?.allow;
  if (allow !== undefined && new Set(allow).size !== allow.length) problems.push(main.problem(["sites", "allow"], "lists a site twice"));
  if (src.priority !== undefined && !(Number.isInteger(src.priority) && src.priority >= 0 && src.priority <= 1000)) {
    problems.push({ file: "--priority", line: 0, path: String(src.priority), message: "must be a whole number from 0 to 1000" });
  }
  if (problems.length > 0 || file === undefined || tasks === undefined || order === undefined) throw specInvalid(problems);

  const definitions = order.map((name): TaskDefinition => {
    const task = tasks[name]!;
    const resolvedConfig = resolveConfig([
      { source: (key) => `pipeline ${pipelineDoc.file}:${pipelineDoc.lineOf([...taskPath, name, "config", key])}`, values: task.config },
      { source: (key) => `campaign ${main.file}:${main.lineOf(["config", `${name}.${key}`])}`, values: fileConfig.get(name) ?? {} },
      // Each --config is its own layer, so a key given twice shows both.
      ...cliConfig.filter((o) => o.task === name).map((o) => ({ source: "--config", values: { [o.key]: o.value } })),
    ]);
    const config = Object.fromEntries(Object.entries(resolvedConfig).map(([k, v]) => [k, v.value]));
    return { ...task, name, config, resolvedConfig, upstream: upstream.get(name) ?? [] };
  });
  const { pipeline: _p, config: _c, ...rest } = file;
  return { ...rest, priority: src.priority ?? file.priority, tasks: definitions, source: src.sourceName };
}

interface LoadedPipeline {
  doc: PositionedYaml;
  taskPath: PropertyKey[];
  /** Undefined when the pipeline itself is not valid (its problems are already listed). */
  tasks: Record<string, TaskSpec> | undefined;
}

function loadPipeline(src: CampaignSource, main: PositionedYaml, rawPipeline: unknown, problems: SpecProblem[]): LoadedPipeline {
  const ref = PipelineFileSchema.safeParse(rawPipeline);
  if (!ref.success) {
    // Inline: its problems are among the campaign file's already.
    const inline = PipelineSchema.safeParse(rawPipeline);
    return { doc: main, taskPath: ["pipeline", "tasks"], tasks: inline.success ? inline.data.tasks : undefined };
  }
  if (src.pipelineYaml === undefined) {
    problems.push(main.problem(["pipeline", "file"], `pipeline file ${ref.data.file} was not provided`));
    return { doc: main, taskPath: ["pipeline", "tasks"], tasks: undefined };
  }
  const doc = new PositionedYaml(src.pipelineSourceName ?? ref.data.file, src.pipelineYaml);
  const syntax = doc.syntaxProblems();
  if (syntax.length > 0) {
    problems.push(...syntax);
    return { doc, taskPath: ["tasks"], tasks: undefined };
  }
  const p = PipelineSchema.safeParse(doc.value());
  if (!p.success) problems.push(...zodProblems(doc, p.error));
  return { doc, taskPath: ["tasks"], tasks: p.success ? p.data.tasks : undefined };
}

function fieldOf(raw: unknown, key: string): unknown {
  return raw !== null && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>)[key] : undefined;
}

/** One field of a campaign file whose whole did not validate, if that field on its own does. */
function partOf<T extends z.ZodType>(schema: T, raw: unknown, key: string): z.output<T> | undefined {
  const r = schema.safeParse(fieldOf(raw, key));
  return r.success ? r.data : undefined;
}

/** Tasks in dependency order, or the tasks on a cycle, producer before consumer (first repeated at the end). */
function topoOrder(names: string[], upstream: Map<string, string[]>): { order: string[] } | { cycle: string[] } {
  const order: string[] = [];
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    const s = state.get(n);
    if (s === 2) return undefined;
    if (s === 1) return [...path.slice(path.indexOf(n)), n].reverse(); // in data-flow order
    state.set(n, 1);
    path.push(n);
    for (const u of upstream.get(n) ?? []) {
      const cycle = visit(u);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(n, 2);
    order.push(n);
    return undefined;
  };
  for (const n of names) {
    const cycle = visit(n);
    if (cycle) return { cycle };
  }
  return { order };
}
