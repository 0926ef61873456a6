// The coordinator's HTTP side (`--http ADDR`): /healthz for load balancers and
// probes, and routes other modules add: /metrics (Prometheus) and the web
// dashboard. When the coordinator checks bearer tokens, the operator routes
// (metrics, the dashboard's data) need the operator token too; /healthz and
// the page's static files (which hold no data) are open.
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, startHttpServer, type HttpHandler, type HttpRoutes, type HttpServerHandle } from "../../common/http-server.js";
import type { Logger } from "../../common/logger.js";
import { bearerToken, tokenDigest, tokenMatches } from "../../common/bearer.js";

export interface HealthReport {
  ok: boolean;
  /** Each dependency's state: "ok" or why not. */
  checks: Record<string, string>;
}

export interface CoordinatorHttpOptions {
  listen: string;
  /** When set, operator routes need `Authorization: Bearer <token>`. */
  operatorToken?: string | undefined;
  /** The coordinator checks tokens: without an operator token, operator routes are refused to everyone. */
  closed: boolean;
  health: () => Promise<HealthReport>;
  /** Routes anyone may read (the page's HTML, scripts, styles). */
  open?: HttpRoutes;
  /** Routes that show the cluster's state: the operator token when tokens are on. */
  operator?: HttpRoutes;
}

/** The request's bearer token is the operator's (compared in constant time). */
function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const token = bearerToken(req.headers.authorization);
  return token !== undefined && tokenMatches(token, expected);
}

function guard(handler: HttpHandler, expected: Buffer | null | undefined): HttpHandler {
  if (expected === undefined) return handler;
  if (expected === null) {
    return (_req, res) => sendJson(res, 403, { error: "this coordinator checks tokens but has no operator token ($ORRERY_OPERATOR_TOKEN): its metrics and dashboard data are closed to everyone" });
  }
  return (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (authorized(req, expected)) return handler(req, res, url);
    res.setHeader("www-authenticate", 'Bearer realm="orrery"');
    sendJson(res, 401, { error: "the operator token is needed: send `Authorization: Bearer <token>` (the cluster file's operator token, or $ORRERY_TOKEN)" });
  };
}

function guarded(routes: HttpRoutes | undefined, expected: Buffer | null | undefined): HttpRoutes {
  const wrap = (r: Record<string, HttpHandler> | undefined) => Object.fromEntries(Object.entries(r ?? {}).map(([k, h]) => [k, guard(h, expected)]));
  return { exact: wrap(routes?.exact), prefix: wrap(routes?.prefix) };
}

export async function startCoordinatorHttp(opts: CoordinatorHttpOptions, log: Logger): Promise<HttpServerHandle> {
  // undefined: an open coordinator; null: tokens are checked but no operator may read.
  const expected = opts.operatorToken ? tokenDigest(opts.operatorToken) : opts.closed ? null : undefined;
  const operator = guarded(opts.operator, expected);
  const routes: HttpRoutes = {
    exact: {
      ...opts.open?.exact,
      ...operator.exact,
      "/healthz": async (_req, res) => {
        const report = await opts.health();
        sendJson(res, report.ok ? 200 : 503, { status: report.ok ? "ok" : "unhealthy", ...report.checks });
      },
    },
    prefix: { ...opts.open?.prefix, ...operator.prefix },
  };
  return startHttpServer(opts.listen, "--http", routes, log);
}
