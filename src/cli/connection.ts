// How every command finds the cluster: --cluster FILE, else $ORRERY_CLUSTER,
// else ./.orrery/cluster.json; or $ORRERY_COORDINATOR, $ORRERY_NATS, $ORRERY_TOKEN
// (and $ORRERY_CA for a TLS coordinator). $ORRERY_TOKEN overrides the file's.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ErrorCode, OrreryError } from "../common/errors.js";
import { clientSecurity, type ClientSecurity } from "../common/grpc-security.js";
import { ClusterFileSchema, type ClusterFile } from "../common/local/cluster-file.js";

export interface Connection {
  coordinator: string; // host:port
  natsUrl: string;
  /** The CA to trust and the operator token (env over the cluster file's). */
  security: ClientSecurity;
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
    return { coordinator: envCoordinator, natsUrl: envNats, security: clientSecurity(undefined), cluster: undefined };
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
    security: clientSecurity(cluster),
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
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? "(file)" : issue.path.map(String).join(".");
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${file} is not a cluster file: ${field}: ${issue?.message ?? "not valid"}`, {
      hint: "`orrery local up` writes it; fix the field above or start the cluster again",
    });
  }
  return parsed.data;
}
