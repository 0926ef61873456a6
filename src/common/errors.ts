import { Metadata, status as GrpcStatus } from "@grpc/grpc-js";

/** Every error code the product raises; branch on these, never on message text. */
export const ErrorCode = {
  SPEC_INVALID: "SPEC_INVALID",
  PLAN_ERROR: "PLAN_ERROR",
  NOT_FOUND: "NOT_FOUND",
  ALREADY_EXISTS: "ALREADY_EXISTS",
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  /** A caller acting on what is not its own (an agent reporting on another agent's lease). */
  PERMISSION_DENIED: "PERMISSION_DENIED",
  /** A call without a bearer token, or with one the coordinator does not accept. */
  UNAUTHENTICATED: "UNAUTHENTICATED",
  UNAVAILABLE: "UNAVAILABLE",
  CHECKSUM_MISMATCH: "CHECKSUM_MISMATCH",
  STAGE_IN: "STAGE_IN",
  STAGE_OUT: "STAGE_OUT",
  ILLEGAL_TRANSITION: "ILLEGAL_TRANSITION",
  MISSING_BINARY: "MISSING_BINARY",
  INTERNAL: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class OrreryError extends Error {
  override readonly name = "OrreryError";
  readonly code: ErrorCode;
  /** What a person can do about it, shown by the CLI after the message. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }

  static from(err: unknown, fallback: ErrorCode = ErrorCode.INTERNAL): OrreryError {
    if (err instanceof OrreryError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (isRedisOutage(err)) {
      // ioredis's retry-limit text names its option, not the problem: the outage is said in our words.
      const detail = err instanceof Error && err.name === "MaxRetriesPerRequestError" ? "no answer after several tries" : message;
      return new OrreryError(ErrorCode.UNAVAILABLE, `Redis, the state store, cannot be reached: ${detail}`, {
        cause: err,
        hint: "start redis-server again (orrery local restart redis) and retry; nothing acknowledged is lost",
      });
    }
    if (err instanceof Error && /^(NOAUTH|WRONGPASS)\b/.test(err.message)) {
      return new OrreryError(ErrorCode.UNAVAILABLE, `Redis, the state store, refused this process: wrong or missing password (${message})`, {
        cause: err,
        hint: "give the cluster's Redis password in $ORRERY_REDIS_PASSWORD",
      });
    }
    return new OrreryError(fallback, message, { cause: err });
  }
}

/**
 * ioredis's errors while Redis is down: its request-retry limit, or a closed
 * connection. They carry no code, so their name and message are what tell them.
 */
function isRedisOutage(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "MaxRetriesPerRequestError" || err.message === "Connection is closed." || err.message.startsWith("Stream isn't writeable");
}

export function isOrreryError(err: unknown, code?: ErrorCode): err is OrreryError {
  return err instanceof OrreryError && (code === undefined || err.code === code);
}

const toGrpc: Record<ErrorCode, GrpcStatus> = {
  SPEC_INVALID: GrpcStatus.INVALID_ARGUMENT,
  PLAN_ERROR: GrpcStatus.FAILED_PRECONDITION,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  CHECKSUM_MISMATCH: GrpcStatus.DATA_LOSS,
  STAGE_IN: GrpcStatus.UNAVAILABLE,
  STAGE_OUT: GrpcStatus.UNAVAILABLE,
  ILLEGAL_TRANSITION: GrpcStatus.FAILED_PRECONDITION,
  MISSING_BINARY: GrpcStatus.INTERNAL,
  INTERNAL: GrpcStatus.INTERNAL,
};

const CODE_METADATA_KEY = "orrery-error-code";
/** What a person can do about it (OrreryError.hint), so the CLI can print the fix the coordinator gave. */
const HINT_METADATA_KEY = "orrery-error-hint";

/** The gRPC edge: an error as a grpc-js ServiceError-like object carrying our code. */
export function toGrpcError(err: unknown): { code: GrpcStatus; details: string; metadata: Metadata } {
  const e = OrreryError.from(err);
  const metadata = new Metadata();
  metadata.set(CODE_METADATA_KEY, e.code);
  // Metadata values are ASCII header values: a hint that is not is left out.
  if (e.hint !== undefined && /^[\x20-\x7e]*$/.test(e.hint)) metadata.set(HINT_METADATA_KEY, e.hint);
  return { code: toGrpc[e.code], details: e.message, metadata };
}

/** The other side of the gRPC edge: a client error back into an OrreryError. */
export function fromGrpcError(err: unknown, where: string): OrreryError {
  const e = err as { code?: number; details?: string; metadata?: Metadata };
  const code = e.metadata?.get(CODE_METADATA_KEY)[0];
  if (typeof code === "string" && code in ErrorCode) {
    const hint = e.metadata?.get(HINT_METADATA_KEY)[0];
    return new OrreryError(code as ErrorCode, e.details ?? "error", { cause: err, ...(typeof hint === "string" ? { hint } : {}) });
  }
  if (e.code === GrpcStatus.UNAUTHENTICATED) return new OrreryError(ErrorCode.UNAUTHENTICATED, e.details ?? "the token was refused", { cause: err });
  if (e.code === GrpcStatus.PERMISSION_DENIED) return new OrreryError(ErrorCode.PERMISSION_DENIED, e.details ?? "permission denied", { cause: err });
  if (e.code === GrpcStatus.UNAVAILABLE || e.code === GrpcStatus.DEADLINE_EXCEEDED) {
    return new OrreryError(ErrorCode.UNAVAILABLE, `cannot reach the coordinator at ${where}`, {
      cause: err,
      hint: "start it (orrery local up) or point --cluster / $ORRERY_COORDINATOR at a running one; a coordinator serving TLS also needs its CA ($ORRERY_CA or the cluster file)",
    });
  }
  return new OrreryError(ErrorCode.INTERNAL, e.details ?? String(err), { cause: err });
}

