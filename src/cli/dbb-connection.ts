// How `orrery dbb …` subcommands reach the data backbone: a NATS connection
// from --nats or the cluster, closed when the command is done. Shared by every
// file that registers dbb subcommands.
import type { Command } from "commander";
import { DbbClient } from "../common/dbb-client.js";
import { connectNats, type NatsConnection } from "../common/nats.js";
import { resolveConnection } from "./connection.js";

export interface DbbCommandOptions {
  cluster?: string;
  json?: boolean;
  nats?: string;
}

export async function withDbbClient<T>(cmd: Command, fn: (client: DbbClient, nc: NatsConnection) => Promise<T>, timeoutMs?: number): Promise<T> {
  const opts = cmd.optsWithGlobals<DbbCommandOptions>();
  const natsUrl = opts.nats ?? resolveConnection({ cluster: opts.cluster }).natsUrl;
  const nc = await connectNats(natsUrl, "orrery-cli");
  try {
    return await fn(new DbbClient(nc, timeoutMs), nc);
  } finally {
    await nc.close();
  }
}

/** Whether the command was asked for JSON (--json anywhere on the line). */
export function wantsJson(cmd: Command): boolean {
  return cmd.optsWithGlobals<DbbCommandOptions>().json === true;
}
