import type { Command } from "commander";

/** Options of the program that every command sees (`--cluster`, `--json`, `--debug`). */
export interface GlobalOptions {
  cluster?: string;
  json?: boolean;
  debug?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}
