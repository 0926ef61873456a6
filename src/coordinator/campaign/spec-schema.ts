import { z } from "../../common/zod.js";
import { parseDuration } from "../../common/duration.js";

/** A campaign name: 1..63 of [a-z0-9-], starting and ending with a letter or digit (it is a NATS subject token). */
export const CAMPAIGN_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME = CAMPAIGN_NAME;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCOPE = /^[A-Za-z0-9_.-]+$/;
/** Task labels as pipelines write them (CONTRACT): `isr`, `visitSummary`, `make-warp`. */
export const TASK_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
export const TASK_NAME_RULE = "task labels are 1..63 of [A-Za-z0-9_-] starting with a letter (isr, visitSummary, make-warp)";

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch {
    ctx.addIssue({ code: "custom", message: `"${String(v)}" is not a duration; write 90s, 15m, 2h, 7d or seconds` });
    return z.NEVER;
  }
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const dataIdValue = z.union([z.string(), z.number()]);

export const InputRoleSchema = z
  .object({
    datasetType: z.string().regex(IDENT, "must be an identifier like calexp"),
    calibration: z.boolean().default(false),
    multiple: z.boolean().default(false),
  })
  .strict();

export const OutputRoleSchema = z.object({ datasetType: z.string().regex(IDENT, "must be an identifier like calexp") }).strict();

export const ResourcesSchema = z
  .object({
    cores: z.number().int().min(1).max(1024).default(1),
    memoryMB: z.number().int().min(1).max(4_000_000).default(1024),
    diskMB: z.number().int().min(0).max(100_000_000).default(1000),
    softTimeLimit: duration.optional(),
    timeLimit: duration.default(3600),
  })
  .strict();

export const TaskSchema = z
  .object({
    command: z.array(z.string().min(1)).min(1, "needs at least the program to run"),
    dimensions: z.array(z.string().regex(IDENT, "must be a data-id key")).min(1, "needs at least one dimension"),
    inputs: z.record(z.string().regex(IDENT, "role names are identifiers"), InputRoleSchema),
    // A task may make nothing (checks, benchmarks, payloads that only publish elsewhere).
    outputs: z.record(z.string().regex(IDENT, "role names are identifiers"), OutputRoleSchema).default({}),
    resources: ResourcesSchema.default(ResourcesSchema.parse({})),
    preemptible: z.boolean().default(true),
    deferred: z.boolean().default(false),
    config: z.record(z.string(), scalar).default({}),
  })
  .strict();

export const PipelineSchema = z.object({ tasks: z.record(z.string().regex(TASK_NAME, TASK_NAME_RULE), TaskSchema) }).strict();

/** `pipeline: {file: path.yaml}`: the pipeline is in a file of its own. */
export const PipelineFileSchema = z.object({ file: z.string().min(1) }).strict();

const whereValue = z.union([
  dataIdValue,
  z.object({ in: z.array(dataIdValue).min(1) }).strict(),
  z
    .object({ range: z.tuple([z.number(), z.number()]) })
    .strict()
    .refine((r) => r.range[0] <= r.range[1], "range must be [low, high] with low ≤ high"),
]);

export const CampaignFileSchema = z
  .object({
    apiVersion: z.literal("orrery/v1", { error: 'must be "orrery/v1"' }),
    kind: z.literal("Campaign", { error: 'must be "Campaign"' }),
    name: z.string().regex(NAME, "must be 1..63 of [a-z0-9-], starting and ending with a letter or digit"),
    priority: z.number().int().min(0).max(1000).default(100),
    share: z.number().positive().max(1e6).default(1),
    pipeline: z.union([PipelineSchema, PipelineFileSchema]),
    data: z
      .object({
        scope: z.string().regex(SCOPE, "must be a scope name"),
        where: z.record(z.string().regex(IDENT, "must be a data-id key"), whereValue).default({}),
      })
      .strict(),
    config: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}\.[A-Za-z0-9_.-]+$/, "keys are task.key, e.g. visitSummary.doApCorr"), scalar).default({}),
    retries: z
      .object({
        failures: z.number().int().min(0).max(100).default(3),
        kills: z.number().int().min(0).max(1000).default(10),
        unlessExit: z.array(z.number().int().min(0).max(255)).default([]),
        memoryMultiplier: z.number().min(1).max(16).default(2),
        memoryMax: z.number().int().min(1).default(16000),
      })
      .strict()
      .default({ failures: 3, kills: 10, unlessExit: [], memoryMultiplier: 2, memoryMax: 16000 }),
    sites: z.object({ allow: z.array(z.string().regex(NAME)).min(1).optional() }).strict().default({}),
    output: z.object({ scope: z.string().regex(SCOPE, "must be a scope name"), run: z.string().regex(/^[A-Za-z0-9_.\/-]+$/, "must be a path like mini-drp/run1") }).strict(),
    reuse: z.boolean().default(false),
    /** How long a quantum waits for an agent at its data's site before it runs anywhere (overrides the coordinator's setting). */
    localityWait: duration.optional(),
    /** false: the coordinator never asks the DBB to copy this campaign's inputs to sites with idle agents. */
    prestage: z.boolean().optional(),
  })
  .strict();

export type CampaignFile = z.infer<typeof CampaignFileSchema>;
export type Pipeline = z.infer<typeof PipelineSchema>;
export type TaskSpec = z.infer<typeof TaskSchema>;
export type WhereValue = z.infer<typeof whereValue>;
