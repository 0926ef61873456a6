// Live campaign control: pause, resume, cancel and priority — clients of the
// coordinator's CampaignService. Each acts at once on the running campaign.
import type { Command } from "commander";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { CampaignAction } from "../gen/orrery/v1/coordinator_pb.js";
import { campaignStates } from "../common/wire-enums.js";
import { withCampaignClient } from "./coordinator-client.js";
import { globalOptions } from "./global-options.js";
import { printJson, printLine } from "./output.js";

const MIN_PRIORITY = 0;
const MAX_PRIORITY = 1000;

const ACTIONS = [
  { name: "pause", action: CampaignAction.PAUSE, description: "start nothing new of a campaign; quanta already running finish and are recorded" },
  { name: "resume", action: CampaignAction.RESUME, description: "make a paused campaign schedulable again" },
  { name: "cancel", action: CampaignAction.CANCEL, description: "stop a campaign: running payloads are killed, every quantum not done is CANCELLED" },
] as const;

/** The N of `orrery priority CAMPAIGN N`, refused (exit 2) unless a whole number in range. */
export function parseCampaignPriority(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < MIN_PRIORITY || n > MAX_PRIORITY) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `priority ${value}: expected a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY}`, {
      hint: `give a priority in ${MIN_PRIORITY}..${MAX_PRIORITY}, higher runs first (e.g. orrery priority CAMPAIGN 500)`,
    });
  }
  return n;
}

export function registerCampaignControlCommands(program: Command): void {
  for (const { name, action, description } of ACTIONS) {
    program
      .command(name)
      .description(description)
      .argument("<campaign>", "campaign name")
      .action(async (campaign: string, _opts: unknown, cmd: Command) => {
        const json = globalOptions(cmd).json === true;
        await withCampaignClient(cmd, async (client) => {
          const res = await client.controlCampaign({ campaign, action });
          const state = campaignStates.name(res.state) ?? "UNKNOWN";
          if (json) printJson({ campaign: res.campaign, state });
          else if (action === CampaignAction.CANCEL) printLine(`campaign ${res.campaign} is ${state}; ${res.cancelledLeases} running quanta stopped`);
          else printLine(`campaign ${res.campaign} is ${state}`);
        });
      });
  }

  program
    .command("priority")
    .description(`change a live campaign's priority (${MIN_PRIORITY}..${MAX_PRIORITY}, higher runs first); the next scheduling decision uses it`)
    .argument("<campaign>", "campaign name")
    .argument("<n>", `new priority, ${MIN_PRIORITY}..${MAX_PRIORITY}`)
    .action(async (campaign: string, value: string, _opts: unknown, cmd: Command) => {
      const priority = parseCampaignPriority(value);
      const json = globalOptions(cmd).json === true;
      await withCampaignClient(cmd, async (client) => {
        const res = await client.setPriority({ campaign, priority });
        if (json) printJson({ campaign: res.campaign, priority: res.priority });
        else printLine(`campaign ${res.campaign} has priority ${res.priority}`);
      });
    });
}
