// Bearer tokens per role, checked on every call before any handler runs: a
// grpc-js server interceptor that ends a refused call with its status.
import * as grpc from "@grpc/grpc-js";
import { ErrorCode, OrreryError, toGrpcError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { bearerToken, tokenDigest, tokenMatches } from "../common/bearer.js";

export type CallRole = "operator" | "agent";

/** The tokens the coordinator accepts; a role without one cannot call. */
export type RoleTokens = Partial<Record<CallRole, string>>;

/** Which role may call which service (by its full name). */
const SERVICE_ROLE: Record<string, CallRole> = {
  "orrery.v1.CampaignService": "operator",
  "orrery.v1.AgentLinkService": "agent",
};

export const NO_TOKEN_MESSAGE = "no token: this coordinator requires a bearer token (set $ORRERY_TOKEN or use the cluster file)";
export const REFUSED_TOKEN_MESSAGE = "the token was refused";

/** The role whose token this is, compared in constant time (hashes of equal length). */
function roleOf(token: string, tokens: ReadonlyMap<CallRole, Buffer>): CallRole | undefined {
  let found: CallRole | undefined;
  for (const [role, expected] of tokens) if (tokenMatches(token, expected)) found = role;
  return found;
}

/** Why a call is refused, or undefined when its token's role may make it. */
export function checkCall(path: string, metadata: grpc.Metadata, tokens: ReadonlyMap<CallRole, Buffer>): OrreryError | undefined {
  const token = bearerToken(metadata.get("authorization")[0]);
  if (token === undefined) {
    return new OrreryError(ErrorCode.UNAUTHENTICATED, NO_TOKEN_MESSAGE, { hint: "run it where the cluster file is (or give --cluster FILE), or export ORRERY_TOKEN" });
  }
  const role = roleOf(token, tokens);
  if (role === undefined) return new OrreryError(ErrorCode.UNAUTHENTICATED, REFUSED_TOKEN_MESSAGE, { hint: "check $ORRERY_TOKEN: it overrides the cluster file's token" });
  const service = path.split("/")[1] ?? "";
  const needed = SERVICE_ROLE[service];
  if (needed !== role) {
    return new OrreryError(ErrorCode.PERMISSION_DENIED, `the ${role} token may not call ${path.slice(1)}${needed ? `: it needs the ${needed} token` : ""}`, {
      hint: role === "agent" ? "campaign commands take the operator token (the cluster file's, or $ORRERY_TOKEN)" : "agents take the agent token",
    });
  }
  return undefined;
}

/** A server interceptor refusing calls whose token is missing, wrong, or of a role that may not make them. */
export function authInterceptor(roleTokens: RoleTokens, log: Logger): grpc.ServerInterceptor {
  const tokens = new Map<CallRole, Buffer>();
  for (const [role, token] of Object.entries(roleTokens) as [CallRole, string | undefined][]) if (token) tokens.set(role, tokenDigest(token));
  return (method, call) => {
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const refusal = checkCall(method.path, metadata, tokens);
        if (refusal === undefined) {
          next(metadata);
          return;
        }
        // One line, no token text: who called what, and why it was refused.
        log.warn({ peer: call.getPeer(), method: method.path, code: refusal.code }, `call refused: ${refusal.message}`);
        const status = toGrpcError(refusal);
        call.sendStatus({ code: status.code, details: status.details, metadata: status.metadata });
      })
      .build();
    const responder = new grpc.ResponderBuilder().withStart((next) => next(listener)).build();
    return new grpc.ServerInterceptingCall(call, responder);
  };
}
