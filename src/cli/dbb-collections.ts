// `orrery dbb attach|detach|contents|close`: collections with Rucio's rules —
// files go into DATASETs, datasets and containers into CONTAINERs, never in a
// cycle, never into (or out of) a closed collection. A refusal exits 2 naming
// the rule it breaks.
import type { Command } from "commander";
import { printJson, printLine, printNotice, printTable } from "./output.js";
import { wantsJson, withDbbClient } from "./dbb-connection.js";

export function registerDbbCollections(dbb: Command): void {
  dbb
    .command("attach <parent> <dids...>")
    .description("attach files to a DATASET, or datasets and containers to a CONTAINER (the parent is made if absent, typed by what it holds)")
    .action(async (parent: string, dids: string[], _o: unknown, cmd: Command) => {
      const attached = await withDbbClient(cmd, (c) => c.attach(parent, dids));
      if (wantsJson(cmd)) return printJson({ attached: attached.length });
      const already = new Set(dids).size - attached.length;
      printLine(`attached ${attached.length} DID${attached.length === 1 ? "" : "s"} to ${parent}${already > 0 ? ` (${already} already attached)` : ""}`);
    });

  dbb
    .command("detach <parent> <dids...>")
    .description("detach DIDs from a DATASET or CONTAINER (each must be attached to it)")
    .action(async (parent: string, dids: string[], _o: unknown, cmd: Command) => {
      const detached = await withDbbClient(cmd, (c) => c.detach(parent, dids));
      if (wantsJson(cmd)) return printJson({ detached: detached.length });
      printLine(`detached ${detached.length} DID${detached.length === 1 ? "" : "s"} from ${parent}`);
    });

  dbb
    .command("contents <did>")
    .description("what a DATASET or CONTAINER holds directly")
    .action(async (did: string, _o: unknown, cmd: Command) => {
      const found = await withDbbClient(cmd, (c) => c.contents(did));
      if (wantsJson(cmd)) return printJson(found.contents);
      if (found.contents.length === 0) {
        const what = found.type === "FILE" ? "a FILE: files hold nothing" : `an empty${found.open ? "" : ", closed"} ${found.type}`;
        return printNotice(`${did} is ${what}`);
      }
      printTable(found.contents, [
        { header: "DID", value: (c) => c.did },
        { header: "TYPE", value: (c) => c.type },
      ]);
      if (!found.open) printNotice(`${did} is closed`);
    });

  dbb
    .command("close <did>")
    .description("close a DATASET or CONTAINER: nothing can be attached to or detached from it afterwards")
    .action(async (did: string, _o: unknown, cmd: Command) => {
      const closed = await withDbbClient(cmd, (c) => c.close(did));
      if (wantsJson(cmd)) return printJson({ did: closed.did, type: closed.type, open: false });
      printLine(`${closed.type} ${closed.did} closed`);
    });
}
