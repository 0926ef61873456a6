import { Command, CommanderError } from "commander";
import { CommandFailed, ExitCode, exitQuietlyOnClosedPipe, reportError } from "./output.js";
import type { GlobalOptions } from "./global-options.js";
import { registerDbbCommands } from "./dbb.js";
import { registerCampaignCommands } from "./campaign.js";
import { registerCampaignControlCommands } from "./campaign-control.js";
import { registerLocalCommands } from "./local.js";
import { registerCoordinatorCommand } from "./services.js";
import { registerAgentCommand } from "./agent.js";
import { registerPilotsCommand } from "./pilots.js";
import { registerPlanCommand } from "./plan.js";
import { registerSchemaCommand } from "./schema.js";
import { registerConfigCommands } from "./config.js";
import { registerTicketCommands } from "./tickets.js";
import { registerReportCommand } from "./report.js";
import { registerEventsCommand } from "./events.js";


export function buildProgram(): Command {
  const program = new Command("orrery")
    .description("Run science-data processing campaigns across many nodes and sites")
    .option("--cluster <file>", "cluster file (default $ORRERY_CLUSTER or ./.orrery/cluster.json)")
    .option("--json", "print JSON for scripts")
    .option("--debug", "print stack traces of errors")
    .addHelpText(
      "after",
      "\nWithout a cluster file: campaign commands need $ORRERY_COORDINATOR (host:port), dbb commands $ORRERY_NATS (URL);\n" +
        "for a closed coordinator also $ORRERY_CA (PEM of its CA: TLS) and $ORRERY_TOKEN (the operator token, which overrides\n" +
        "the cluster file's). Output into a closed pipe (`orrery quanta C | head`) ends quietly with exit 0.",
    )
    .showHelpAfterError()
    .exitOverride();
  registerLocalCommands(program);
  registerPlanCommand(program);
  registerCampaignCommands(program);
  registerCampaignControlCommands(program);
  registerTicketCommands(program);
  registerEventsCommand(program);
  registerConfigCommands(program);
  registerReportCommand(program);
  registerSchemaCommand(program);
  registerCoordinatorCommand(program);
  registerAgentCommand(program);
  registerPilotsCommand(program);
  registerDbbCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
      return;
    }
    if (err instanceof CommandFailed) {
      process.exitCode = err.exitCode;
      return;
    }
    process.exitCode = reportError(err, program.opts<GlobalOptions>().debug === true);
  }
}
