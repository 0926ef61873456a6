// The coordinator's web dashboard: the page (open: it holds no data) and its
// data routes (operator: /api/overview, a JSON snapshot, and /api/events, the
// live event stream). The page's files are plain HTML, CSS and a browser
// module in ./static, read from the source tree both when running from src/
// and from dist/ (both sit three levels below the package root), so the
// build needs no copy step.
import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { sendText, type HttpRoutes } from "../../common/http-server.js";
import type { CampaignStatusView } from "../workload/index.js";
import { EventStreams, type FollowEvents } from "./event-stream.js";
import { overviewHandler, type AgentSummary, type RulePage } from "./overview.js";
import { bytesOfProvenance, type Throughput } from "./throughput.js";

export { Throughput, bytesOfProvenance, type AttemptFigure, type MinuteBucket } from "./throughput.js";
export type { DashboardEvent, FollowEvents } from "./event-stream.js";
export type { AgentSummary, Overview, RulePage, RuleSummary } from "./overview.js";
export { dbbRulePage } from "./rules.js";

export interface DashboardDeps {
  campaigns: () => Promise<CampaignStatusView[]>;
  agents: () => AgentSummary[];
  throughput: Throughput;
  follow: FollowEvents;
  rules?: () => Promise<RulePage>;
  tickets?: () => Promise<unknown[]>;
}

export interface Dashboard {
  open: HttpRoutes;
  operator: HttpRoutes;
  /** Ends the open event streams. */
  close(): void;
}

const STATIC_DIR = new URL("../../../src/coordinator/web/static/", import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard.js": { file: "dashboard.js", type: "text/javascript; charset=utf-8" },
  "/dashboard.css": { file: "dashboard.css", type: "text/css; charset=utf-8" },
};

// The page loads only its own files and talks only to its own origin.
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function staticRoute(file: string, type: string): (res: ServerResponse) => void {
  let body: Buffer | undefined;
  return (res) => {
    try {
      body ??= readFileSync(new URL(file, STATIC_DIR));
    } catch (err) {
      sendText(res, 500, `the dashboard's ${file} is missing (${(err as Error).message}); reinstall orrery\n`);
      return;
    }
    for (const [k, v] of Object.entries(PAGE_HEADERS)) res.setHeader(k, v);
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache", "content-length": body.length });
    res.end(body);
  };
}

export function dashboardRoutes(deps: DashboardDeps): Dashboard {
  const streams = new EventStreams({ follow: deps.follow });
  const overview = overviewHandler({
    campaigns: deps.campaigns,
    agents: deps.agents,
    throughput: () => deps.throughput.snapshot(),
    ...(deps.rules ? { rules: deps.rules } : {}),
    ...(deps.tickets ? { tickets: deps.tickets } : {}),
  });
  const open: HttpRoutes = { exact: {} };
  for (const [path, { file, type }] of Object.entries(FILES)) {
    const serve = staticRoute(file, type);
    open.exact[path] = (_req, res) => serve(res);
  }
  return {
    open,
    operator: { exact: { "/api/overview": (_req, res) => overview(res), "/api/events": streams.handler } },
    close: () => streams.close(),
  };
}

/** Throughput figures of one ended attempt, for Throughput.record. */
export function attemptFigure(a: { leaseId: string; site: string; outcome: string; provenanceJson: string }, nowMs = Date.now()): Parameters<Throughput["record"]>[0] {
  // Plotted at the minute it was stored, not at the agent's word for when it ended.
  return { leaseId: a.leaseId, site: a.site, succeeded: a.outcome === "succeeded", endMs: nowMs, ...bytesOfProvenance(a.provenanceJson) };
}
