// Campaign commands: submit, status, quanta, logs, agents — clients of the
// coordinator's CampaignService.
import type { Command } from "commander";
import { ErrorCode, OrreryError } from "../common/errors.js";
import type { CampaignStatus } from "../gen/orrery/v1/coordinator_pb.js";
import { QuantumState } from "../gen/orrery/v1/common_pb.js";
import { quantumStates } from "../common/wire-enums.js";
import { EXPANSION_TIMEOUT_MS, parsePriority, readSubmitRequest } from "./campaign-file.js";
import { followCampaign } from "./campaign-watch.js";
import { withCampaignClient, type CampaignClient } from "./coordinator-client.js";
import { TASK_NAME, TASK_NAME_RULE } from "../coordinator/campaign/spec-schema.js";
import { globalOptions } from "./global-options.js";
import { CommandFailed, ExitCode, printJson, printLine, printNotice, printTable, printText } from "./output.js";
import {
  QUANTUM_STATES,
  agentToJson,
  type AgentJson,
  campaignStatusToJson,
  done,
  finalLine,
  formatBytes,
  formatQuantumDataId,
  lastAttempt,
  quantumToJson,
  total,
  type CampaignStatusJson,
} from "./status-view.js";

async function campaignStatus(client: CampaignClient, campaign: string): Promise<CampaignStatus> {
  const res = await client.status({ campaign });
  const status = res.campaigns.find((c) => c.campaign === campaign) ?? res.campaigns[0];
  if (status === undefined) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `no campaign named ${campaign}`, { hint: "list campaigns with `orrery status`" });
  }
  return status;
}

/** Follows to the end; prints the final line (or JSON) and fails unless the campaign SUCCEEDED. */
async function followToEnd(client: CampaignClient, campaign: string, json: boolean): Promise<void> {
  const final = await followCampaign(() => campaignStatus(client, campaign));
  if (json) printJson(final);
  else printLine(finalLine(final));
  if (final.state === "FAILED") printNotice(`see why with \`orrery tickets --open --campaign ${campaign}\`; once the cause is fixed, \`orrery retry ${campaign}\``);
  if (final.state !== "SUCCEEDED") throw new CommandFailed(ExitCode.FAILED);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseAttempt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--attempt ${value}: expected an attempt number from 1`);
  }
  return Number(value);
}

function progress(counts: Record<string, number>): string {
  return `${done(counts)}/${total(counts)}`;
}

function printCampaignTable(statuses: readonly CampaignStatusJson[]): void {
  if (statuses.length === 0) {
    printLine("no campaigns");
    return;
  }
  printTable(statuses, [
    { header: "CAMPAIGN", value: (s) => s.campaign },
    { header: "STATE", value: (s) => s.state },
    { header: "PRIORITY", value: (s) => s.priority, align: "right" },
    { header: "DONE", value: (s) => progress(s.counts), align: "right" },
    { header: "FAILURES", value: (s) => s.failures, align: "right" },
    { header: "KILLS", value: (s) => s.kills, align: "right" },
  ]);
}

/** One campaign: its summary line, then per task the count in every state that occurs. */
function printCampaignDetail(s: CampaignStatusJson): void {
  printLine(
    `${s.campaign}  ${s.state}  priority ${s.priority}  share ${s.share}  ${progress(s.counts)} done  failures ${s.failures}  kills ${s.kills}`,
  );
  for (const u of s.unschedulable) printLine(`unschedulable: ${u.quanta} quanta of ${u.task}: ${u.reason}`);
  const spot = s.nodeKinds["spot"];
  if (spot) printLine(`spot: ${spot.preempted} of ${spot.attempts} attempts preempted (${(spot.preemptionRate * 100).toFixed(1)}%), ${spot.lostCpuSeconds} CPU-s lost`);
  const rows = Object.entries(s.tasks).map(([task, counts]) => ({ task, counts }));
  if (rows.length === 0) return;
  const states = [
    ...QUANTUM_STATES.filter((st) => rows.some((r) => (r.counts[st] ?? 0) > 0)),
    ...new Set(rows.flatMap((r) => Object.keys(r.counts)).filter((st) => !(QUANTUM_STATES as readonly string[]).includes(st))),
  ];
  printLine();
  printTable(rows, [
    { header: "TASK", value: (r) => r.task },
    { header: "DONE", value: (r) => progress(r.counts), align: "right" },
    ...states.map((st) => ({ header: st, value: (r: (typeof rows)[number]) => r.counts[st] ?? 0, align: "right" as const })),
  ]);
}

export function registerCampaignCommands(program: Command): void {
  program
    .command("submit")
    .description("validate, expand and queue a campaign; --wait follows it to the end (exit 0 only if it SUCCEEDED)")
    .argument("<file>", "campaign file (YAML)")
    .option("--config <task.key=value>", "override a task's config (repeatable, last wins)", collect)
    .option("--priority <n>", "priority 0..1000 (higher runs first)", parsePriority)
    .option("--wait", "follow the campaign until it ends")
    .action(async (file: string, opts: { config?: string[]; priority?: number; wait?: boolean }, cmd: Command) => {
      const request = await readSubmitRequest(file, { config: opts.config, priority: opts.priority });
      const json = globalOptions(cmd).json === true;
      await withCampaignClient(cmd, async (client) => {
        const res = await client.submit(request, { timeoutMs: EXPANSION_TIMEOUT_MS });
        if (!opts.wait) {
          if (json) printJson({ campaign: res.campaign, quanta: res.quanta });
          else printLine(`submitted campaign ${res.campaign}: ${res.quanta} quanta`);
          return;
        }
        if (!json) printLine(`submitted campaign ${res.campaign}: ${res.quanta} quanta`);
        await followToEnd(client, res.campaign, json);
      });
    });

  program
    .command("status")
    .description("progress per campaign and task; --watch redraws live bars until the campaign ends")
    .argument("[campaign]", "one campaign (default: all)")
    .option("--watch", "follow the campaign until it ends (exit 0 only if it SUCCEEDED)")
    .addHelpText("after", "\n--json nodeKinds: attempts, CPU and wall time by node kind. Per task and site: `orrery report CAMPAIGN`.")
    .action(async (campaign: string | undefined, opts: { watch?: boolean }, cmd: Command) => {
      const json = globalOptions(cmd).json === true;
      if (opts.watch && campaign === undefined) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "status --watch needs a CAMPAIGN", {
          hint: "name the campaign to follow, e.g. orrery status mini-drp --watch",
        });
      }
      await withCampaignClient(cmd, async (client) => {
        if (campaign === undefined) {
          const res = await client.status({ campaign: "" });
          const statuses = res.campaigns.map(campaignStatusToJson);
          if (json) printJson(statuses);
          else printCampaignTable(statuses);
          return;
        }
        if (opts.watch) {
          await followToEnd(client, campaign, json);
          return;
        }
        const status = campaignStatusToJson(await campaignStatus(client, campaign));
        if (json) printJson(status);
        else printCampaignDetail(status);
      });
    });

  program
    .command("quanta")
    .description("one line per quantum of a campaign")
    .argument("<campaign>", "campaign name")
    .option("--state <state>", "only quanta in this state (e.g. FAILED)")
    .option("--task <task>", "only quanta of this task")
    .action(async (campaign: string, opts: { state?: string; task?: string }, cmd: Command) => {
      const json = globalOptions(cmd).json === true;
      await withCampaignClient(cmd, async (client) => {
        const state = opts.state === undefined ? QuantumState.UNSPECIFIED : quantumStates.value(opts.state.toUpperCase());
        if (state === undefined) {
          throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--state "${opts.state}" is not a quantum state`, { hint: `use one of ${quantumStates.names.join(", ")}` });
        }
        if (opts.task !== undefined && !TASK_NAME.test(opts.task)) {
          throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--task "${opts.task}" is not a task label`, { hint: TASK_NAME_RULE });
        }
        const res = await client.listQuanta({ campaign, state, task: opts.task ?? "" });
        if (json) {
          printJson(res.quanta.map(quantumToJson));
          return;
        }
        if (res.quanta.length === 0) {
          printLine("no quanta");
          return;
        }
        printTable(res.quanta, [
          { header: "QUANTUM", value: (q) => q.id },
          { header: "TASK", value: (q) => q.task },
          { header: "DATA ID", value: (q) => formatQuantumDataId(q) },
          { header: "STATE", value: (q) => quantumStates.name(q.state) ?? "UNKNOWN" },
          { header: "ATTEMPTS", value: (q) => q.attempts.length, align: "right" },
          { header: "LAST", value: (q) => lastAttempt(q) },
        ]);
      });
    });

  program
    .command("logs")
    .description("the payload's stdout and stderr of a quantum's attempt")
    .argument("<quantum>", "quantum id (from `orrery quanta`)")
    .option("--attempt <n>", "attempt number (default: the latest)", parseAttempt)
    .action(async (quantum: string, opts: { attempt?: number }, cmd: Command) => {
      await withCampaignClient(cmd, async (client) => {
        const res = await client.getLogs({ quantum, attempt: opts.attempt ?? 0 });
        for (const [stream, text] of [
          ["stdout", res.stdout],
          ["stderr", res.stderr],
        ] as const) {
          printLine(`==> ${stream} of ${quantum} attempt ${res.attempt} <==`);
          printText(text === "" ? "(empty)" : text);
        }
      });
    });

  program
    .command("agents")
    .description("connected agents: site, kind, cores, running quanta, cache")
    .action(async (_opts: unknown, cmd: Command) => {
      const json = globalOptions(cmd).json === true;
      await withCampaignClient(cmd, async (client) => {
        const agents = (await client.listAgents({})).agents.map(agentToJson);
        if (json) {
          printJson(agents);
          return;
        }
        if (agents.length === 0) {
          printLine("no agents connected");
          return;
        }
        printTable(agents, [
          { header: "AGENT", value: (a) => a.id },
          { header: "SITE", value: (a) => a.site },
          { header: "KIND", value: (a) => a.kind },
          { header: "CORES", value: (a) => `${a.freeCores}/${a.cores} free`, align: "right" },
          { header: "RUNNING", value: (a) => a.running, align: "right" },
          { header: "CACHE", value: (a) => formatBytes(a.cacheBytes), align: "right" },
          ...(agents.some((a) => a.batchJob !== undefined) ? [{ header: "BATCH JOB", value: (a: AgentJson) => a.batchJob ?? "" }] : []),
        ]);
      });
    });
}
