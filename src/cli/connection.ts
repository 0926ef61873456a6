// How every command finds the cluster: --cluster FILE, else $ORRERY_CLUSTER,
// else ./.orrery/cluster.json; or $ORRERY_COORDINATOR, $ORRERY_NATS, $ORRERY_TOKEN.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { ClusterFileSchema, type ClusterFile } from "../common/local/cluster-file.js";

export interface Connection {
  coordinator: string; // host:port
  natsUrl: string;
  token: string | undefined;
  cluster: ClusterFile | undefined;
}

export interface ConnectionOptions {
  cluster?: string | undefined;
}

export function resolveConnection(opts: ConnectionOptions): Connection {
  const explicit = opts.cluster ?? process.env["ORRERY_CLUSTER"];
  const envCoordinator = process.env["ORRERY_COORDINATOR"];
  const envNats = process.env["ORRERY_NATS"];
  if (explicit === undefined && envCoordinator && envNats) {
    return { coordinator: envCoordinator, natsUrl: envNats, token: process.env["ORRERY_TOKEN"], cluster: undefined };
  }
  const file = resolve(explicit ?? ".orrery/cluster.json");
  if (!existsSync(file)) {
    throw new OrreryError(ErrorCode.UNAVAILABLE, `no cluster found: ${file} does not exist`, {
      hint: "start one with `orrery local up`, or give --cluster FILE, or set $ORRERY_COORDINATOR and $ORRERY_NATS",
    });
  }
  const cluster = readClusterFile(file);
  return {
    coordinator: envCoordinator ?? cluster.coordinator,
    natsUrl: envNats ?? cluster.nats,
    token: process.env["ORRERY_TOKEN"],
    cluster,
  };
}

export function readClusterFile(file: string): ClusterFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${file} is not a readable cluster file`, { cause: err });
  }
  const parsed = ClusterFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${file} is not a cluster file: ${parsed.error.issues[0]?.message ?? ""}`);
  }
  return parsed.data;
}
