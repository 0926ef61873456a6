// `orrery dbb rule add|list|show|delete|update`: replication rules.
import type { Command } from "commander";
import type { Rule } from "../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { withDbbClient, type DbbCommandOptions } from "./dbb-connection.js";
import { ExitCode, printJson, printLine, printNotice, printTable } from "./output.js";

/** A rule over many files is written before `rule add` answers: give it time. */
const RULE_ADD_TIMEOUT_MS = 300_000;

export function ruleJson(r: Rule) {
  return {
    id: r.id,
    did: r.did,
    rseExpression: r.rseExpression,
    copies: r.copies,
    state: r.state,
    locks: { OK: Number(r.locksOk), REPLICATING: Number(r.locksReplicating), STUCK: Number(r.locksStuck) },
    grouping: r.grouping,
    lifetimeSeconds: r.lifetimeSeconds === 0 ? null : r.lifetimeSeconds,
    expiresAt: r.expiresAt === "" ? null : r.expiresAt,
    weight: r.weight === "" ? null : r.weight,
    sourceExpression: r.sourceExpression === "" ? null : r.sourceExpression,
    locked: r.locked,
    subscription: r.subscription === "" ? null : r.subscription,
    createdAt: r.createdAt,
  };
}

function printRules(rules: readonly Rule[]): void {
  printTable(rules.map(ruleJson), [
    { header: "ID", value: (r) => r.id },
    { header: "DID", value: (r) => r.did },
    { header: "EXPRESSION", value: (r) => r.rseExpression },
    { header: "COPIES", value: (r) => r.copies, align: "right" },
    { header: "STATE", value: (r) => r.state },
    { header: "OK/REPL/STUCK", value: (r) => `${r.locks.OK}/${r.locks.REPLICATING}/${r.locks.STUCK}` },
    { header: "EXPIRES", value: (r) => r.expiresAt ?? "-" },
    { header: "LOCKED", value: (r) => (r.locked ? "yes" : "") },
  ]);
}

function parseBool(value: string, flag: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} "${value}" is not true or false`, { hint: `write ${flag} true or ${flag} false` });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follows a rule until it is OK (exit 0) or STUCK/SUSPENDED (exit 1). */
async function waitForRule(cmd: Command, id: string): Promise<Rule> {
  for (;;) {
    const rule = await withDbbClient(cmd, (c) => c.ruleShow(id));
    if (rule.state === "OK" || rule.state === "STUCK" || rule.state === "SUSPENDED") return rule;
    await sleep(500);
  }
}

export function registerRuleCommands(dbb: Command): void {
  const rule = dbb.command("rule").description("replication rules: where copies of a DID's files must be");
  rule
    .command("add <did>")
    .description("add a rule; its locks are written and transfers queued before it returns")
    .requiredOption("--rse-expr <expression>", 'RSEs the copies may go to (Rucio\'s RSE expression, e.g. "tier=disk&site=site-b")')
    .option("--copies <n>", "number of copies", "1")
    .option("--lifetime <duration>", "the rule expires after this (30d, 12h…); none by default")
    .option("--grouping <grouping>", "ALL (every file on the same RSEs), DATASET (per dataset) or NONE (per file)", "DATASET")
    .option("--weight <attribute>", "draw RSEs weighted by this numeric RSE attribute")
    .option("--source-expr <expression>", "copy only from replicas at these RSEs")
    .option("--locked", "the rule cannot be deleted until unlocked")
    .option("--wait", "follow the rule until it is OK (exit 0) or STUCK (exit 1)")
    .action(async (did: string, o: { rseExpr: string; copies: string; lifetime?: string; grouping: string; weight?: string; sourceExpr?: string; locked?: boolean; wait?: boolean }, cmd: Command) => {
      if (!/^\d+$/.test(o.copies)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--copies "${o.copies}" is not a whole number`, { hint: "give --copies N, e.g. --copies 2" });
      let added = await withDbbClient(
        cmd,
        (c) =>
          c.ruleAdd({
            did,
            rseExpression: o.rseExpr,
            copies: Number(o.copies),
            lifetime: o.lifetime ?? "",
            grouping: o.grouping,
            weight: o.weight ?? "",
            sourceExpression: o.sourceExpr ?? "",
            locked: o.locked === true,
          }),
        RULE_ADD_TIMEOUT_MS,
      );
      if (o.wait) added = await waitForRule(cmd, added.id);
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) printJson(ruleJson(added));
      else printLine(`rule ${added.id} on ${added.did}: ${added.copies} cop${added.copies === 1 ? "y" : "ies"} at "${added.rseExpression}", ${added.state} (${added.locksOk} locks OK, ${added.locksReplicating} replicating)`);
      if (o.wait && added.state !== "OK") process.exitCode = ExitCode.FAILED;
    });
  rule
    .command("list [did]")
    .description("rules, all or those on one DID")
    .action(async (did: string | undefined, _o: unknown, cmd: Command) => {
      const rules = await withDbbClient(cmd, (c) => c.ruleList(did ?? ""));
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(rules.map(ruleJson));
      if (rules.length === 0) return printNotice(did ? `no rules on ${did}` : "no rules");
      printRules(rules);
    });
  rule
    .command("show <id>")
    .description("one rule with its lock counts")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const r = await withDbbClient(cmd, (c) => c.ruleShow(id));
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(ruleJson(r));
      const j = ruleJson(r);
      for (const [k, v] of Object.entries(j)) printLine(`${k.padEnd(17)} ${typeof v === "object" && v !== null ? JSON.stringify(v) : String(v ?? "-")}`);
    });
  rule
    .command("delete <id>")
    .description("delete a rule (refused while it is locked); its replicas get tombstones")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const r = await withDbbClient(cmd, (c) => c.ruleDelete(id));
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(ruleJson(r));
      printLine(`rule ${r.id} on ${r.did} deleted`);
    });
  rule
    .command("update <id>")
    .description("lock or unlock a rule, or give it a new lifetime (from now)")
    .option("--locked <bool>", "true or false")
    .option("--lifetime <duration>", "expire this long from now (30d, 12h…)")
    .action(async (id: string, o: { locked?: string; lifetime?: string }, cmd: Command) => {
      if (o.locked === undefined && o.lifetime === undefined) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "nothing to update", { hint: "give --locked true|false and/or --lifetime D" });
      }
      const r = await withDbbClient(cmd, (c) =>
        c.ruleUpdate({ id, ...(o.locked !== undefined ? { locked: parseBool(o.locked, "--locked") } : {}), lifetime: o.lifetime ?? "" }),
      );
      if (cmd.optsWithGlobals<DbbCommandOptions>().json) return printJson(ruleJson(r));
      printLine(`rule ${r.id}: ${r.locked ? "locked" : "unlocked"}${r.expiresAt ? `, expires ${r.expiresAt}` : ""}`);
    });
}
