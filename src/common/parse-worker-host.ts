// The worker side of the parse pool (parse-pool.ts): answers each request
// with the plain result of a parser, or with the OrreryError it threw as
// plain fields. Messages between threads are structured clones, so results
// must be plain data (no class instances, no functions).
import { parentPort } from "node:worker_threads";
import { ErrorCode, OrreryError } from "./errors.js";

export interface ParseRequest {
  id: number;
  kind: string;
  input: unknown;
}

export type ParseReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; code: ErrorCode; message: string; hint: string | undefined };

export type ParseHandlers = Record<string, (input: unknown) => unknown>;

function replyOf(id: number, handlers: ParseHandlers, kind: string, input: unknown): ParseReply {
  const handler = handlers[kind];
  if (handler === undefined) return { id, ok: false, code: ErrorCode.INTERNAL, message: `no parser for ${kind}`, hint: undefined };
  try {
    return { id, ok: true, value: handler(input) };
  } catch (err) {
    // A parser's own refusal keeps its code; anything else (a stack overflow) is still a refused file, not a crash.
    if (err instanceof OrreryError) return { id, ok: false, code: err.code, message: err.message, hint: err.hint };
    const what = err instanceof RangeError ? "it is too deeply nested or too large for the parser" : "the parser failed on it";
    return { id, ok: false, code: ErrorCode.SPEC_INVALID, message: `the file was refused: ${what}; nothing was stored`, hint: "make it smaller or less deeply nested" };
  }
}

/** Serves parse requests in this worker thread until the pool terminates it. */
export function serveParseRequests(handlers: ParseHandlers): void {
  const port = parentPort;
  if (port === null) throw new Error("serveParseRequests runs in a worker thread");
  port.on("message", (req: ParseRequest) => {
    port.postMessage(replyOf(req.id, handlers, req.kind, req.input));
  });
}
