import { connect, errors, type NatsConnection } from "@nats-io/transport-node";
import { fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape, create } from "@bufbuild/protobuf";
import { ErrorCode, OrreryError } from "./errors.js";
import { DbbErrorSchema } from "../gen/orrery/v1/dbb_pb.js";
import { Subjects, type DbbEndpoint } from "./subjects.js";

export type { NatsConnection } from "@nats-io/transport-node";

/** An agent's own reply prefix, given by `local up` with its own NATS user (see cluster-security.ts). */
export const NATS_INBOX_ENV = "ORRERY_NATS_INBOX";

export interface NatsAuth {
  user?: string | undefined;
  password?: string | undefined;
  /** Reply subjects' prefix (agents have their own, see cluster-security.ts). */
  inboxPrefix?: string;
}

/**
 * Connects to NATS as `auth.user` (default $ORRERY_NATS_USER /
 * $ORRERY_NATS_PASSWORD), or throws: PERMISSION_DENIED when the server refuses
 * the user or password, UNAVAILABLE naming the address when it cannot be reached.
 */
export async function connectNats(url: string, name: string, auth: NatsAuth = {}, retryForMs = 0): Promise<NatsConnection> {
  // A server reloading its users (a new agent's, `local agent add`) may refuse or stall a
  // connection for a moment: a caller that can wait (an agent starting) tries again until retryForMs.
  const deadline = Date.now() + retryForMs;
  for (;;) {
    try {
      return await connectOnce(url, name, auth);
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function connectOnce(url: string, name: string, auth: NatsAuth): Promise<NatsConnection> {
  const user = auth.user ?? process.env["ORRERY_NATS_USER"];
  const pass = auth.password ?? process.env["ORRERY_NATS_PASSWORD"];
  try {
    return await connect({
      servers: url,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
      ...(user ? { user, pass: pass ?? "" } : {}),
      ...(auth.inboxPrefix ? { inboxPrefix: auth.inboxPrefix } : {}),
    });
  } catch (err) {
    if (err instanceof errors.AuthorizationError) {
      throw new OrreryError(ErrorCode.PERMISSION_DENIED, `NATS at ${url} refused ${user ? `user "${user}": wrong user or password` : "the connection: it needs a user and password"}`, {
        cause: err,
        hint: "use the credentials of the cluster file (--cluster), or set $ORRERY_NATS_USER and $ORRERY_NATS_PASSWORD",
      });
    }
    throw new OrreryError(ErrorCode.UNAVAILABLE, `cannot reach NATS at ${url}`, {
      cause: err,
      hint: "start the cluster (orrery local up) or point --cluster / $ORRERY_NATS at a running one",
    });
  }
}

/** A NATS refusal of a publish or subscribe as PERMISSION_DENIED naming the subject; undefined for other errors. */
export function natsPermissionError(err: unknown): OrreryError | undefined {
  // A refused request comes as a RequestError caused by the violation.
  while (err instanceof Error && !(err instanceof errors.PermissionViolationError) && err.cause !== undefined) err = err.cause;
  if (!(err instanceof errors.PermissionViolationError)) return undefined;
  return new OrreryError(ErrorCode.PERMISSION_DENIED, `NATS refused this user permission to ${err.operation === "publish" ? "publish to" : "subscribe to"} ${err.subject}`, {
    cause: err,
    hint: "this NATS user's role may not do that: use a user whose role may (the operator's, from the cluster file)",
  });
}

/** Header that marks a DBB reply as an error (body is a DbbError message). */
export const ERROR_HEADER = "Orrery-Error";
/** Optional header of an error reply: what a person can do about it (OrreryError.hint). */
export const ERROR_HINT_HEADER = "Orrery-Error-Hint";

/** Calls a DBB endpoint with a protobuf request and parses the protobuf reply. */
export async function dbbRequest<I extends DescMessage, O extends DescMessage>(
  nc: NatsConnection,
  endpoint: DbbEndpoint,
  input: I,
  request: MessageInitShape<I>,
  output: O,
  timeoutMs = 30_000,
): Promise<MessageShape<O>> {
  let reply;
  try {
    reply = await nc.request(Subjects.dbbApi(endpoint), toBinary(input, create(input, request)), { timeout: timeoutMs });
  } catch (err) {
    const refused = natsPermissionError(err);
    if (refused) throw refused;
    throw new OrreryError(ErrorCode.UNAVAILABLE, `the data backbone did not answer dbb.${endpoint}`, {
      cause: err,
      hint: "check that the dbb process is running (orrery local status)",
    });
  }
  if (reply.headers?.get(ERROR_HEADER)) {
    const e = fromBinary(DbbErrorSchema, reply.data);
    const code = (e.code in ErrorCode ? e.code : ErrorCode.INTERNAL) as ErrorCode;
    const hint = reply.headers.get(ERROR_HINT_HEADER);
    throw new OrreryError(code, e.message, hint ? { hint } : {});
  }
  return fromBinary(output, reply.data);
}
