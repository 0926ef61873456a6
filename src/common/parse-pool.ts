// A small pool of worker threads that parse and validate untrusted files off
// the event loop. Each worker has its own heap and stack limits
// (`resourceLimits`) and every request a time budget: a file that exhausts a
// worker, or runs too long, costs that worker (it is replaced) and is refused
// with exit 2 — it never takes the process down or stalls its other requests.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import { ErrorCode, OrreryError } from "./errors.js";
import { createLogger } from "./logger.js";
import type { ParseReply, ParseRequest } from "./parse-worker-host.js";

const log = createLogger("parse-pool");

export interface ParsePoolOptions {
  /** The worker's module: a file that calls serveParseRequests. */
  entry: URL;
  size?: number;
  timeoutMs?: number;
  limits?: ResourceLimits;
}

export const DEFAULT_PARSE_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 };
export const DEFAULT_PARSE_TIMEOUT_MS = 5_000;

interface Pending {
  id: number;
  resolve: (value: unknown) => void;
  reject: (err: OrreryError) => void;
  timer: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  current: Pending | undefined;
  /** Terminated after a timeout: takes no work until its exit replaces it. */
  retiring: boolean;
}

interface Queued {
  request: ParseRequest;
  resolve: (value: unknown) => void;
  reject: (err: OrreryError) => void;
}

/**
 * Under vitest the sources are TypeScript, which a worker cannot load; the
 * worker then runs from the build (dist/), which the integration tests make.
 */
export function workerEntry(url: URL): URL {
  const path = fileURLToPath(url);
  if (existsSync(path)) return url;
  const built = path.replace(/([\\/])src([\\/])/, "$1dist$2");
  return existsSync(built) ? pathToFileURL(built) : url;
}

export class ParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private readonly timeoutMs: number;
  private nextId = 1;
  private closed = false;
  /** Workers replaced after dying or running out of time (for tests and logs). */
  replaced = 0;

  constructor(private readonly opts: ParsePoolOptions) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS;
    for (let i = 0; i < (opts.size ?? 1); i++) this.slots.push(this.spawn());
  }

  /** Parses in a worker; resolves with the worker's plain result, rejects with an OrreryError. */
  run<T>(kind: string, input: unknown): Promise<T> {
    if (this.closed) return Promise.reject(new OrreryError(ErrorCode.UNAVAILABLE, "the parser pool is closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ request: { id: 0, kind, input }, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new OrreryError(ErrorCode.UNAVAILABLE, "the parser pool is closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(workerEntry(this.opts.entry), { resourceLimits: this.opts.limits ?? DEFAULT_PARSE_LIMITS });
    // The pool must not keep a process alive that is otherwise done.
    worker.unref();
    const slot: Slot = { worker, current: undefined, retiring: false };
    worker.on("message", (reply: ParseReply) => this.answer(slot, reply));
    worker.on("error", (err) => log.warn({ err }, "a parser worker failed"));
    worker.on("exit", (code) => this.died(slot, code));
    return slot;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.current !== undefined || slot.retiring) continue;
      const next = this.queue.shift();
      if (next === undefined) return;
      const id = this.nextId++;
      const timer = setTimeout(() => this.expire(slot, id), this.timeoutMs);
      slot.current = { id, resolve: next.resolve, reject: next.reject, timer };
      slot.worker.postMessage({ ...next.request, id });
    }
  }

  private answer(slot: Slot, reply: ParseReply): void {
    const p = slot.current;
    if (p === undefined || p.id !== reply.id) return;
    clearTimeout(p.timer);
    slot.current = undefined;
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new OrreryError(reply.code, reply.message, reply.hint === undefined ? {} : { hint: reply.hint }));
    this.pump();
  }

  private expire(slot: Slot, id: number): void {
    const p = slot.current;
    if (p === undefined || p.id !== id) return;
    slot.current = undefined;
    slot.retiring = true;
    p.reject(new OrreryError(ErrorCode.SPEC_INVALID, `the file took longer than ${this.timeoutMs / 1000} s to parse, the parser's time limit; nothing was stored`, { hint: "make it smaller or simpler" }));
    // The exit handler sees no current request and only replaces the worker.
    slot.worker.terminate().catch((err: unknown) => log.warn({ err }, "a parser worker did not stop"));
  }

  private died(slot: Slot, code: number): void {
    const p = slot.current;
    slot.current = undefined;
    if (p !== undefined) {
      clearTimeout(p.timer);
      log.warn({ code }, "a parser worker died on a file; refusing the file and replacing the worker");
      p.reject(new OrreryError(ErrorCode.SPEC_INVALID, "the file could not be parsed within the parser's memory/time limits; nothing was stored", { hint: "make it smaller or less deeply nested" }));
    }
    if (this.closed) return;
    const i = this.slots.indexOf(slot);
    if (i >= 0) {
      this.replaced++;
      this.slots[i] = this.spawn();
    }
    this.pump();
  }
}
