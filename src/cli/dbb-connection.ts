// How `orrery dbb …` subcommands reach the data backbone: a NATS connection
// from --nats or the cluster, closed when the command is done. Shared by every
// file that registers dbb subcommands.
import type { Command } from "commander";
import { DbbClient } from "../common/dbb-client.js";
import { connectNats, type NatsConnection } from "../common/nats.js";
import { resolveConnection } from "./connection.js";
import { natsAuthOf } from "../common/local/cluster-security.js";
import { addS3Keys } from "../common/s3.js";

export interface DbbCommandOptions {
  cluster?: string;
  json?: boolean;
  nats?: string;
}

export async function withDbbClient<T>(cmd: Command, fn: (client: DbbClient, nc: NatsConnection) => Promise<T>, timeoutMs?: number): Promise<T> {
  const opts = cmd.optsWithGlobals<DbbCommandOptions>();
  const conn = opts.nats !== undefined && opts.cluster === undefined ? undefined : resolveConnection({ cluster: opts.cluster, need: "nats" });
  const natsUrl = opts.nats ?? conn!.natsUrl;
  // The operator's NATS user and S3 keys from the cluster file; $ORRERY_NATS_USER/_PASSWORD override it.
  const cluster = conn?.cluster;
  if (cluster?.security?.s3) addS3Keys(Object.fromEntries(cluster.sites.flatMap((s) => (cluster.s3[s] && cluster.security?.s3?.[s] ? [[cluster.s3[s], cluster.security.s3[s]]] : []))));
  const nc = await connectNats(natsUrl, "orrery-cli", process.env["ORRERY_NATS_USER"] === undefined && cluster ? natsAuthOf(cluster) : {});
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
