// `orrery tickets` and `orrery retry`: FAILED quanta awaiting an operator, and
// putting them back to work once their cause is fixed.
import type { Command } from "commander";
import { attemptOutcomes, campaignStates, quantumStates } from "../common/wire-enums.js";
import { TicketState, type Ticket } from "../gen/orrery/v1/coordinator_pb.js";
import { withCampaignClient } from "./coordinator-client.js";
import { globalOptions } from "./global-options.js";
import { printJson, printLine, printNotice, printTable } from "./output.js";

/** A ticket as `--json` prints it: CONTRACT's {quantum, campaign, task, outcome, message} and more. */
export function ticketToJson(t: Ticket) {
  return {
    quantum: t.quantum,
    campaign: t.campaign,
    task: t.task,
    outcome: attemptOutcomes.name(t.outcome) ?? "unknown",
    message: t.message,
    exitCode: t.exitCode,
    stderrTail: t.stderrTail,
    attempt: t.attempt,
    reason: t.reason,
    state: t.state === TicketState.OPEN ? "open" : t.state === TicketState.CLOSED ? "closed" : "unknown",
    quantumState: quantumStates.name(t.quantumState) ?? "UNKNOWN",
    openedMs: Number(t.openedMs),
    closedMs: Number(t.closedMs),
  };
}

function clip(text: string, n: number): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

function lastLine(text: string): string {
  return text.trimEnd().split("\n").pop() ?? "";
}

export function registerTicketCommands(program: Command): void {
  program
    .command("tickets")
    .description("tickets of FAILED quanta: outcome, exit code, message and the end of stderr; closed once the quantum succeeds after `orrery retry`")
    .option("--open", "only tickets still open")
    .option("--campaign <campaign>", "only this campaign's tickets")
    .addHelpText("after", "\n--json: [{quantum, campaign, task, outcome, message, exitCode, stderrTail, attempt, reason, state (open|closed), quantumState, openedMs, closedMs}]")
    .action(async (opts: { open?: boolean; campaign?: string }, cmd: Command) => {
      const json = globalOptions(cmd).json === true;
      await withCampaignClient(cmd, async (client) => {
        const res = await client.listTickets({ campaign: opts.campaign ?? "", openOnly: opts.open === true });
        const tickets = res.tickets.map(ticketToJson);
        if (json) {
          printJson(tickets);
          return;
        }
        if (tickets.length === 0) {
          printLine(opts.open === true ? "no open tickets" : "no tickets");
          return;
        }
        printTable(tickets, [
          { header: "QUANTUM", value: (t) => t.quantum },
          { header: "TASK", value: (t) => t.task },
          { header: "TICKET", value: (t) => t.state },
          { header: "NOW", value: (t) => t.quantumState },
          { header: "OUTCOME", value: (t) => t.outcome },
          { header: "EXIT", value: (t) => t.exitCode, align: "right" },
          { header: "ATTEMPT", value: (t) => t.attempt, align: "right" },
          { header: "OPENED", value: (t) => new Date(t.openedMs).toISOString().replace(/\.\d+Z$/, "Z") },
          { header: "MESSAGE", value: (t) => clip(t.message, 40) },
          { header: "LAST STDERR", value: (t) => clip(lastLine(t.stderrTail), 50) },
        ]);
        if (tickets.some((t) => t.state === "open")) printNotice("see a quantum's whole logs with `orrery logs QUANTUM`; once the cause is fixed, `orrery retry CAMPAIGN`");
      });
    });

  program
    .command("retry")
    .description("put a campaign's FAILED quanta (or one) back to READY with fresh budgets, and their BLOCKED downstream back to waiting; a FAILED campaign runs again")
    .argument("<campaign>", "campaign name")
    .option("--quantum <id>", "only this FAILED quantum")
    .addHelpText("after", "\n--json: {requeued, unblocked, campaign, state}. Their tickets stay open until the quanta succeed (`orrery tickets --open`).")
    .action(async (campaign: string, opts: { quantum?: string }, cmd: Command) => {
      const json = globalOptions(cmd).json === true;
      await withCampaignClient(cmd, async (client) => {
        const res = await client.retry({ campaign, quantum: opts.quantum ?? "" });
        const state = campaignStates.name(res.state) ?? "UNKNOWN";
        if (res.requeued === 0) printNotice(`nothing to retry: campaign ${res.campaign} has no FAILED quanta`);
        if (json) printJson({ requeued: res.requeued, unblocked: res.unblocked, campaign: res.campaign, state });
        else if (res.requeued > 0) printLine(`requeued ${res.requeued} failed and ${res.unblocked} blocked quanta of ${res.campaign}; campaign ${res.campaign} is ${state}`);
      });
    });
}
