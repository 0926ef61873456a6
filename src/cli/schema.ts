// `orrery schema`: the campaign file's JSON Schema, for editors (e.g. the YAML
// language server's `# yaml-language-server: $schema=…`). Generated from the
// same zod schema the coordinator validates with, so the two cannot drift.
import type { Command } from "commander";
import { z } from "../common/zod.js";
import { CampaignFileSchema } from "../coordinator/campaign/index.js";
import { printJson } from "./output.js";

type JsonObject = Record<string, unknown>;

const DURATION_FIELDS = new Set(["softTimeLimit", "timeLimit"]);

/** A duration as written in the file (the zod schema only sees string | number before parsing it). */
const DURATION_SCHEMA: JsonObject = {
  description: "90s, 15m, 2h, 7d or a number of seconds",
  anyOf: [
    { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*[smhd]?\\s*$" },
    { type: "number", minimum: 0 },
  ],
};

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Walks the schema and gives every duration field its written form. */
function describeDurations(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) describeDurations(item);
    return;
  }
  if (!isObject(node)) return;
  const props = node["properties"];
  if (isObject(props)) {
    for (const key of Object.keys(props)) {
      if (DURATION_FIELDS.has(key)) props[key] = { ...DURATION_SCHEMA };
    }
  }
  for (const value of Object.values(node)) describeDurations(value);
}

/** JSON Schema (draft 2020-12) of a campaign file as a person writes it: defaults may be left out. */
export function campaignJsonSchema(): JsonObject {
  const schema = z.toJSONSchema(CampaignFileSchema, { target: "draft-2020-12", io: "input" }) as JsonObject;
  describeDurations(schema);
  const { $schema, ...rest } = schema;
  return {
    $schema,
    title: "Orrery campaign file",
    description: "apiVersion orrery/v1, kind Campaign: a pipeline of tasks, the data it reads, config overrides, retries, sites and output",
    ...rest,
  };
}

export function registerSchemaCommand(program: Command): void {
  program
    .command("schema")
    .description("print the JSON Schema (draft 2020-12) of the campaign file, for editors; needs no cluster")
    .action(() => {
      printJson(campaignJsonSchema());
    });
}
