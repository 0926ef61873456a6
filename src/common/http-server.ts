// A small HTTP server for a process's read-only pages: /healthz, /metrics and
// (the coordinator's) dashboard. Routes are exact paths or path prefixes; a
// handler that throws answers 500 without taking the process down. Only GET
// and HEAD are served: nothing here changes state.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { ErrorCode, OrreryError } from "./errors.js";
import type { Logger } from "./logger.js";

export type HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpRoutes {
  /** Exact paths ("/healthz"). */
  exact: Record<string, HttpHandler>;
  /** Path prefixes ("/api/"), longest first wins. */
  prefix?: Record<string, HttpHandler>;
}

export interface HttpServerHandle {
  /** host:port it listens on (port 0 resolved). */
  address: string;
  close(): Promise<void>;
}

/** Sends a JSON body (no caching: every page shows the present). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "content-type": contentType, "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function splitListen(listen: string, flag: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = i > 0 ? listen.slice(0, i).replace(/^\[|\]$/g, "") : "";
  const port = Number(listen.slice(i + 1));
  if (i <= 0 || host === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} "${listen}" is not host:port`, { hint: `e.g. ${flag} 127.0.0.1:8080 (port 0 picks a free one)` });
  }
  return { host, port };
}

function route(routes: HttpRoutes, path: string): HttpHandler | undefined {
  const exact = routes.exact[path];
  if (exact) return exact;
  const prefixes = Object.keys(routes.prefix ?? {}).sort((a, b) => b.length - a.length);
  const p = prefixes.find((prefix) => path.startsWith(prefix));
  return p === undefined ? undefined : routes.prefix![p];
}

/** Listens on `listen` (host:port; `flag` names it in errors) and serves `routes`. */
export async function startHttpServer(listen: string, flag: string, routes: HttpRoutes, log: Logger): Promise<HttpServerHandle> {
  const { host, port } = splitListen(listen, flag);
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendText(res, 405, "only GET and HEAD are served here\n");
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      sendText(res, 400, "the request's path is not a URL path\n");
      return;
    }
    const handler = route(routes, url.pathname);
    if (!handler) {
      sendText(res, 404, `nothing at ${url.pathname}\n`);
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res, url))
      .catch((err: unknown) => {
        log.warn({ err, path: url.pathname }, "HTTP handler failed");
        if (!res.headersSent) sendText(res, 500, "internal error; see the service's log\n");
        else res.destroy();
      });
  });
  // Slow or idle clients cannot hold sockets for ever (long-lived event streams set their own timeout).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new OrreryError(ErrorCode.UNAVAILABLE, `cannot listen on ${listen} (${flag}): ${err.message}`, { cause: err, hint: `choose another address for ${flag}` })));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === "object" && addr ? addr.port : port;
  const address = `${host.includes(":") ? `[${host}]` : host}:${bound}`;
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
