import { connect, type NatsConnection } from "@nats-io/transport-node";
import { fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape, create } from "@bufbuild/protobuf";
import { ErrorCode, OrreryError } from "./errors.js";
import { DbbErrorSchema } from "../gen/orrery/v1/dbb_pb.js";
import { Subjects, type DbbEndpoint } from "./subjects.js";

export type { NatsConnection } from "@nats-io/transport-node";

/** Connects to NATS, or throws UNAVAILABLE naming the address and what to do. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 });
  } catch (err) {
    throw new OrreryError(ErrorCode.UNAVAILABLE, `cannot reach NATS at ${url}`, {
      cause: err,
      hint: "start the cluster (orrery local up) or point --cluster / $ORRERY_NATS at a running one",
    });
  }
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
