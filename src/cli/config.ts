// `orrery config CAMPAIGN` and `orrery provenance QUANTUM`: records the
// coordinator keeps about what a campaign ran with and how each attempt ran.
import type { Command } from "commander";
import { ErrorCode, OrreryError } from "../common/errors.js";
import type { GetConfigResponse } from "../gen/orrery/v1/coordinator_pb.js";
import { withCampaignClient } from "./coordinator-client.js";
import { globalOptions } from "./global-options.js";
import { printJson, printLine, printText } from "./output.js";

export type ConfigScalar = string | number | boolean;

export interface ConfigSettingJson {
  value: ConfigScalar;
  source: string;
}

/** CONTRACT: `{T:{key:{value, history:[{value, source}]}}}`, tasks in pipeline order. */
export type CampaignConfigJson = Record<string, Record<string, { value: ConfigScalar; history: ConfigSettingJson[] }>>;

function scalar(json: string): ConfigScalar {
  const v: unknown = JSON.parse(json);
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : String(v);
}

export function configToJson(res: GetConfigResponse): CampaignConfigJson {
  const out: CampaignConfigJson = {};
  for (const t of res.tasks) {
    out[t.task] = Object.fromEntries(
      t.entries.map((e) => [e.key, { value: scalar(e.valueJson), history: e.history.map((h) => ({ value: scalar(h.valueJson), source: h.source })) }]),
    );
  }
  return out;
}

/** `task.key = value`; with history, each value is followed by where it was set, first to last (the last wins). */
export function configLines(config: CampaignConfigJson, history: boolean): string[] {
  const lines: string[] = [];
  for (const [task, entries] of Object.entries(config)) {
    const keys = Object.keys(entries);
    if (keys.length === 0) {
      lines.push(`# ${task}: no config`);
      continue;
    }
    for (const key of keys) {
      const entry = entries[key]!;
      lines.push(`${task}.${key} = ${JSON.stringify(entry.value)}`);
      if (!history) continue;
      const width = Math.max(...entry.history.map((h) => JSON.stringify(h.value).length));
      entry.history.forEach((h, i) => {
        const last = i === entry.history.length - 1;
        lines.push(`    ${JSON.stringify(h.value).padEnd(width)}  ${h.source}${last ? "" : "  (overridden)"}`);
      });
    }
  }
  return lines;
}

function parseAttempt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--attempt ${value}: expected an attempt number from 1`);
  }
  return Number(value);
}

export function registerConfigCommands(program: Command): void {
  program
    .command("config")
    .description("a campaign's resolved config per task; --history shows where each value was set")
    .argument("<campaign>", "campaign name")
    .option("--history", "each value's sources in order: pipeline default, campaign file (FILE:LINE), --config")
    .action(async (campaign: string, opts: { history?: boolean }, cmd: Command) => {
      const res = await withCampaignClient(cmd, (client) => client.getConfig({ campaign }));
      const config = configToJson(res);
      if (globalOptions(cmd).json === true) printJson(config);
      else for (const line of configLines(config, opts.history === true)) printLine(line);
    });

  program
    .command("provenance")
    .description("the provenance record of a quantum's attempt: where and how it ran, inputs, config, outputs (JSON)")
    .argument("<quantum>", "quantum id (from `orrery quanta`)")
    .option("--attempt <n>", "attempt number (default: the latest that has a record)", parseAttempt)
    .action(async (quantum: string, opts: { attempt?: number }, cmd: Command) => {
      const res = await withCampaignClient(cmd, (client) => client.getProvenance({ quantum, attempt: opts.attempt ?? 0 }));
      let record: unknown;
      try {
        record = JSON.parse(res.provenanceJson);
      } catch {
        // Kept as the agent sent it: a record is shown even if it is not JSON.
        printText(res.provenanceJson);
        return;
      }
      printJson(record);
    });
}
