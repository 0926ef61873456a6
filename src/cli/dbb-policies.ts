// `orrery dbb policy set|show`: per-site replication policies. The file is
// checked here, where its lines are known, so every problem is printed as
// FILE:LINE: path: message; the dbb checks the JSON it receives again.
import { readFile, stat } from "node:fs/promises";
import type { Command } from "commander";
import { stringify } from "yaml";
import { MAX_POLICY_BYTES, parsePolicyJson, policyInvalid, rseProblems, type Policy } from "../dbb/index.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { describeReadError } from "./campaign-file.js";
import { parsePolicyFileIsolated } from "./file-parser.js";
import { withDbbClient, type DbbCommandOptions } from "./dbb-connection.js";
import { printJson, printLine, printText } from "./output.js";

/** Retroactive subscriptions walk the site's existing files before `policy set` answers: give them time. */
const POLICY_SET_TIMEOUT_MS = 600_000;

async function readPolicyFile(file: string): Promise<string> {
  try {
    const { size } = await stat(file);
    if (size > MAX_POLICY_BYTES) throw policyInvalid([{ file, line: 0, path: "", message: `${size} bytes, over the ${MAX_POLICY_BYTES} a policy may have` }]);
    return await readFile(file, "utf8");
  } catch (err) {
    if (err instanceof OrreryError) throw err;
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `cannot read policy file ${file}: ${describeReadError(err)}`, {
      cause: err,
      hint: "check the path; it is relative to the current directory",
    });
  }
}

function subscriptionCount(p: Policy): string {
  const n = p.subscriptions.length;
  return `${n} subscription${n === 1 ? "" : "s"}${n > 0 ? ` (${p.subscriptions.map((s) => s.name).join(", ")})` : ""}`;
}

export function registerPolicyCommands(dbb: Command): void {
  const policy = dbb.command("policy").description("per-site replication policies: subscriptions that give a site's new files their rules");
  policy
    .command("set <site> <file>")
    .description("set a site's policy from a YAML file whose `site` is SITE; retroactive subscriptions cover existing files before it returns")
    .action(async (site: string, file: string, _o: unknown, cmd: Command) => {
      const { policy: parsed, at } = await parsePolicyFileIsolated(file, await readPolicyFile(file));
      if (parsed.site !== site) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${file} is the policy of site "${parsed.site}", not of site "${site}"`, {
          hint: `run \`orrery dbb policy set ${parsed.site} ${file}\`, or change \`site:\` in the file`,
        });
      }
      const reply = await withDbbClient(
        cmd,
        async (c) => {
          // Checked here too so that these problems also carry their line.
          const problems = rseProblems(parsed, await c.rseList(), at);
          if (problems.length > 0) throw policyInvalid(problems);
          return c.policySet(JSON.stringify(parsed));
        },
        POLICY_SET_TIMEOUT_MS,
      );
      const stored = parsePolicyJson(reply.policyJson, "the dbb's answer");
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(stored);
      const retro = stored.subscriptions.some((s) => s.retroactive) ? `; retroactive: ${reply.retroactiveRules} rules made on ${reply.retroactiveFiles} existing files` : "";
      printLine(`policy of site ${stored.site} set: ${subscriptionCount(stored)}${retro}`);
    });
  policy
    .command("show <site>")
    .description("a site's policy, as YAML (`--json`: the policy object)")
    .action(async (site: string, _o: unknown, cmd: Command) => {
      const stored = parsePolicyJson(await withDbbClient(cmd, (c) => c.policyShow(site)), "the dbb's answer");
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(stored);
      printText(stringify(stored, { lineWidth: 0 }));
    });
}
