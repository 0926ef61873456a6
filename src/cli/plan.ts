// `orrery plan FILE`: the coordinator expands the campaign against the catalog
// and answers with the graph; nothing is stored or queued.
import type { Command } from "commander";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { EXPANSION_TIMEOUT_MS, readSubmitRequest } from "./campaign-file.js";
import { withCampaignClient } from "./coordinator-client.js";
import { globalOptions } from "./global-options.js";
import { printJson, printLine, printNotice, printTable, printText } from "./output.js";
import { DOT_QUANTA_LIMIT, planHeadline, planRows, planToDot, planToJson } from "./plan-view.js";

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerPlanCommand(program: Command): void {
  program
    .command("plan")
    .description("expand a campaign into its quantum graph without submitting it: quanta and dropped data ids per task, edges, inputs")
    .argument("<file>", "campaign file (YAML)")
    .option("--config <task.key=value>", "override a task's config (repeatable, last wins)", collect)
    .option("--dot", `print the quantum graph as Graphviz DOT (per task above ${DOT_QUANTA_LIMIT} quanta)`)
    .action(async (file: string, opts: { config?: string[]; dot?: boolean }, cmd: Command) => {
      const json = globalOptions(cmd).json === true;
      if (json && opts.dot) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "plan takes --json or --dot, not both", { hint: "--json prints the counts, --dot the graph" });
      }
      const request = await readSubmitRequest(file, { config: opts.config });
      const plan = await withCampaignClient(cmd, (client) => client.plan(request, { timeoutMs: EXPANSION_TIMEOUT_MS }));
      if (json) {
        printJson(planToJson(plan));
        return;
      }
      if (opts.dot) {
        const { dot, taskLevel } = planToDot(plan);
        if (taskLevel) printNotice(`orrery: the plan has ${plan.quanta} quanta, more than ${DOT_QUANTA_LIMIT}: drawing one node per task, each edge labelled with its quantum edges`);
        printText(dot);
        return;
      }
      printLine(planHeadline(plan));
      printLine();
      printTable(planRows(plan), [
        { header: "TASK", value: (r) => r.task },
        { header: "QUANTA", value: (r) => r.quanta, align: "right" },
        { header: "DROPPED", value: (r) => r.dropped, align: "right" },
        { header: "UPSTREAM", value: (r) => r.upstream },
        { header: "INPUTS", value: (r) => r.inputs },
        { header: "OUTPUTS", value: (r) => r.outputs },
      ]);
      printLine();
      if (plan.tasks.some((t) => t.deferred)) printLine("deferred tasks are expanded when the tasks they read from are done; their quanta are not counted here");
      printLine(`nothing was submitted; run it with \`orrery submit ${file}\``);
    });
}
