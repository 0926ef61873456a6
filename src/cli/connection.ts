// How every command finds the cluster: --cluster FILE, else $ORRERY_CLUSTER,
// else ./.orrery/cluster.json; or, with no cluster file named, the environment:
// campaign commands need only $ORRERY_COORDINATOR (with $ORRERY_TOKEN, and
// $ORRERY_CA for a TLS coordinator), dbb commands only $ORRERY_NATS.
// $ORRERY_TOKEN overrides the file's.
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
  /**
   * What the command talks to: campaign commands need only the coordinator
   * ($ORRERY_COORDINATOR), dbb commands only NATS ($ORRERY_NATS). Default both.
   */
  need?: ConnectionNeed;
}

export type ConnectionNeed = "coordinator" | "nats" | "both";

const NEEDED_VARS: Record<ConnectionNeed, readonly ("ORRERY_COORDINATOR" | "ORRERY_NATS")[]> = {
  coordinator: ["ORRERY_COORDINATOR"],
  nats: ["ORRERY_NATS"],
  both: ["ORRERY_COORDINATOR", "ORRERY_NATS"],
};

function envValue(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
}

export function resolveConnection(opts: ConnectionOptions): Connection {
  const need = opts.need ?? "both";
  const explicit = opts.cluster ?? envValue("ORRERY_CLUSTER");
  const envCoordinator = envValue("ORRERY_COORDINATOR");
  const envNats = envValue("ORRERY_NATS");
  const missing = NEEDED_VARS[need].filter((v) => envValue(v) === undefined);
  if (explicit === undefined && missing.length === 0) {
    // What the command does not need is left empty: it is never dialled.
    return { coordinator: envCoordinator ?? "", natsUrl: envNats ?? "", security: clientSecurity(undefined), cluster: undefined };
  }
  const file = resolve(explicit ?? ".orrery/cluster.json");
  if (!existsSync(file)) {
    const vars = missing.map((v) => `$${v}`).join(" and ");
    const set = NEEDED_VARS[need].map((v) => `$${v}`).join(" and ");
    throw new OrreryError(
      ErrorCode.UNAVAILABLE,
      explicit === undefined ? `no cluster found: ${file} does not exist and ${vars} ${missing.length === 1 ? "is" : "are"} not set` : `no cluster found: ${file} does not exist`,
      {
        hint: `set ${set}${need === "nats" ? "" : " (with $ORRERY_TOKEN, and $ORRERY_CA for a TLS coordinator)"}, or give --cluster FILE, or start one with \`orrery local up\``,
      },
    );
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
