// Prometheus metrics of one process: its own registry (never prom-client's
// global one, so two services in one process do not mix), every name
// `orrery_…`, the process's default metrics (CPU, memory, event loop) under
// the same prefix; and label values bounded, since many come from agents.
import { collectDefaultMetrics, Registry } from "prom-client";
import type { ServerResponse } from "node:http";
import { sendJson, sendText, startHttpServer, type HttpHandler, type HttpServerHandle } from "./http-server.js";
import type { Logger } from "./logger.js";

export const METRIC_PREFIX = "orrery_";
/** Longest label value kept; longer ones are cut. */
export const MAX_LABEL_LENGTH = 64;
/** The value of a label whose values ran out of room, or that was not acceptable. */
export const OTHER = "other";

/** A process's registry, with the default process metrics named orrery_process_… and orrery_nodejs_…. */
export function createMetricsRegistry(defaults = true): Registry {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/**
 * An untrusted string as a label value: printable ASCII of names and
 * addresses only ([A-Za-z0-9_.:@/-], others become "_"), at most
 * MAX_LABEL_LENGTH characters; empty → "none".
 */
export function labelValue(value: unknown): string {
  if (typeof value !== "string" || value === "") return "none";
  return value.slice(0, MAX_LABEL_LENGTH).replace(/[^A-Za-z0-9_.:@/-]/g, "_");
}

/** One of `allowed` (the value itself) or OTHER. */
export function enumLabel(value: unknown, allowed: ReadonlySet<string>): string {
  return typeof value === "string" && allowed.has(value) ? value : OTHER;
}

/**
 * At most `max` distinct values of one label: the first ones seen keep their
 * name, later new ones are OTHER. An attacker naming a fresh site per
 * message cannot grow the exposition without end.
 */
export class LabelBudget {
  private readonly seen = new Set<string>();

  constructor(readonly max: number) {}

  label(value: unknown): string {
    const v = labelValue(value);
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(v);
    return v;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** GET /metrics of a registry (the exposition format and its content type). */
export function metricsHandler(registry: Registry): HttpHandler {
  return async (_req, res: ServerResponse) => {
    sendText(res, 200, await registry.metrics(), registry.contentType);
  };
}

/**
 * `--metrics ADDR` of an agent or the dbb: /metrics and /healthz (200 while
 * `healthy` says so; it names what is wrong otherwise).
 */
export function startMetricsServer(listen: string, registry: Registry, log: Logger, healthy: () => string | undefined = () => undefined): Promise<HttpServerHandle> {
  return startHttpServer(
    listen,
    "--metrics",
    {
      exact: {
        "/metrics": metricsHandler(registry),
        "/healthz": (_req, res) => {
          const problem = healthy();
          sendJson(res, problem === undefined ? 200 : 503, problem === undefined ? { status: "ok" } : { status: "unhealthy", problem });
        },
      },
    },
    log,
  );
}
