// /api/events: the cluster's events as Server-Sent Events, for the dashboard
// (which reads it with fetch, so it can send the operator token). Each client
// has a bounded buffer: one that reads too slowly is dropped, never waited
// for. A comment every 15 s keeps proxies from closing an idle stream.
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, type HttpHandler } from "../../common/http-server.js";
import { CAMPAIGN_NAME } from "../campaign/index.js";

/** An event as published under `orrery.events.>`: a JSON object with a `kind`. */
export type DashboardEvent = { kind: string; campaign?: string } & Record<string, unknown>;

/** Follows the events of one campaign (or all); returns the unsubscribe. */
export type FollowEvents = (campaign: string | undefined, cb: (event: DashboardEvent) => void) => () => void;

export interface EventStreamOptions {
  follow: FollowEvents;
  heartbeatMs?: number;
  /** Bytes a client may have unsent before it is dropped. */
  maxBufferedBytes?: number;
  /** Clients at once; more are answered 503. */
  maxClients?: number;
}


export class EventStreams {
  private readonly clients = new Set<() => void>();

  constructor(private readonly opts: EventStreamOptions) {}

  get size(): number {
    return this.clients.size;
  }

  handler: HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const campaign = url.searchParams.get("campaign") ?? undefined;
    if (campaign !== undefined && !CAMPAIGN_NAME.test(campaign)) {
      sendJson(res, 400, { error: "campaign: expected a campaign name (1..63 of a-z, 0-9 and '-'); leave it out for every campaign" });
      return;
    }
    if (this.clients.size >= (this.opts.maxClients ?? 64)) {
      sendJson(res, 503, { error: "too many event streams are open; close another dashboard or try again later" });
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    res.write(": orrery events\n\n");
    const maxBuffered = this.opts.maxBufferedBytes ?? 256 * 1024;
    const heartbeat = setInterval(() => res.write(": heartbeat\n\n"), this.opts.heartbeatMs ?? 15_000);
    heartbeat.unref();
    let unsubscribe: (() => void) | undefined;
    const end = () => {
      if (!this.clients.delete(end)) return;
      clearInterval(heartbeat);
      unsubscribe?.();
      if (!res.writableEnded) res.end();
    };
    this.clients.add(end);
    unsubscribe = this.opts.follow(campaign, (event) => {
      if (res.writableEnded || res.destroyed) return end();
      if (res.writableLength > maxBuffered) {
        // Too slow: dropped, so the coordinator never holds an unbounded queue for it. The page reconnects.
        res.write("event: dropped\ndata: {\"reason\":\"the client read too slowly\"}\n\n");
        end();
        res.destroy();
        return;
      }
      res.write(`event: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    res.on("close", end);
  };

  /** Ends every stream (the coordinator is stopping). */
  close(): void {
    for (const end of [...this.clients]) end();
  }
}

