// What a gRPC client needs to talk to a closed coordinator: the CA to trust
// (TLS) and its bearer token. $ORRERY_CA and $ORRERY_TOKEN override the
// cluster file's.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, OrreryError } from "./errors.js";
import type { ClusterSecurity } from "./local/cluster-file.js";

export type TokenRole = "operator" | "agent";

export interface ClientSecurity {
  /** PEM file of the CA: when given, the channel is TLS. */
  caFile?: string;
  /** Sent as `authorization: Bearer …` on every call. */
  token?: string;
}

/** A client's security from the environment, else the cluster file's, for a role's token. */
export function clientSecurity(cluster: { security?: ClusterSecurity | undefined } | undefined, role: TokenRole = "operator", env: NodeJS.ProcessEnv = process.env): ClientSecurity {
  const caFile = nonEmpty(env["ORRERY_CA"]) ?? cluster?.security?.ca;
  const token = nonEmpty(env["ORRERY_TOKEN"]) ?? cluster?.security?.tokens[role];
  return { ...(caFile !== undefined ? { caFile } : {}), ...(token !== undefined ? { token } : {}) };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

/** TLS trusting the CA when one is given, else plaintext; with the channel options TLS to `address` needs. */
export function channelSecurity(security: ClientSecurity | undefined, address: string): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  if (security?.caFile === undefined) return { credentials: grpc.credentials.createInsecure(), options: {} };
  let pem: Buffer;
  try {
    pem = readFileSync(security.caFile);
  } catch (err) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `cannot read the CA file ${security.caFile}: ${(err as Error).message}`, {
      cause: err,
      hint: "fix $ORRERY_CA or the cluster file's security.ca",
    });
  }
  const host = address.startsWith("[") ? address.slice(1, address.indexOf("]")) : address.slice(0, address.lastIndexOf(":"));
  if (isIP(host) === 0) return { credentials: grpc.credentials.createSsl(pem), options: {} };
  // An IP address may not be a TLS server name (RFC 6066, and Node warns): name the server
  // "localhost" in the handshake but check the certificate against the IP itself (its SAN).
  const credentials = grpc.credentials.createSsl(pem, null, null, { checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert) });
  return { credentials, options: { "grpc.ssl_target_name_override": "localhost", "grpc.default_authority": address } };
}

/** The metadata of every call: the bearer token, when there is one. */
export function callMetadata(security: ClientSecurity | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (security?.token !== undefined) md.set("authorization", `Bearer ${security.token}`);
  return md;
}
