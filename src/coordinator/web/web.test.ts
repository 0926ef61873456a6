import { afterEach, describe, expect, it } from "vitest";
import { startHttpServer, type HttpServerHandle } from "../../common/http-server.js";
import { createLogger } from "../../common/logger.js";
import { EventStreams, type DashboardEvent } from "./event-stream.js";
import { Throughput, bytesOfProvenance } from "./throughput.js";

const MINUTE = 60_000;
const figure = (leaseId: string, site: string, endMs: number, succeeded = true) => ({ leaseId, site, succeeded, endMs, bytesIn: 10, bytesCached: 1, bytesOut: 5 });

describe("the dashboard's per-minute throughput", () => {
  it("counts results per minute and site, each lease once, and keeps only the last hour", () => {
    const t = new Throughput(60);
    const base = 1000 * MINUTE;
    t.record(figure("l1", "site-a", base + 1000));
    t.record(figure("l1", "site-a", base + 1000)); // sent again: counted once
    t.record(figure("l2", "site-b", base + 2000, false));
    t.record(figure("l3", "site-a", base + MINUTE + 5));
    expect(t.snapshot(base + MINUTE + 10)).toEqual([
      { minute: base, sites: { "site-a": { succeeded: 1, failed: 0, bytesIn: 10, bytesCached: 1, bytesOut: 5 }, "site-b": { succeeded: 0, failed: 1, bytesIn: 10, bytesCached: 1, bytesOut: 5 } } },
      { minute: base + MINUTE, sites: { "site-a": { succeeded: 1, failed: 0, bytesIn: 10, bytesCached: 1, bytesOut: 5 } } },
    ]);
    // An hour on, the first minute's slot is reused; older results are not plotted.
    t.record(figure("l4", "site-a", base + 60 * MINUTE));
    t.record(figure("l5", "site-a", base + 30));
    expect(t.snapshot(base + 60 * MINUTE).map((b) => b.minute)).toEqual([base + MINUTE, base + 60 * MINUTE]);
  });

  it("reads bytes from a provenance record, by source, and nothing from a malformed one", () => {
    const record = { inputs: [{ bytes: 100, source: "site-a-disk" }, { bytes: 40, source: "cache" }, { bytes: -5, source: "x" }, null], outputs: [{ bytes: 7 }, { bytes: "9" }] };
    expect(bytesOfProvenance(JSON.stringify(record))).toEqual({ bytesIn: 100, bytesCached: 40, bytesOut: 7 });
    for (const bad of ["", "{", "42", "null", '{"inputs":"x"}']) expect(bytesOfProvenance(bad)).toEqual({ bytesIn: 0, bytesCached: 0, bytesOut: 0 });
  });
});

describe("the dashboard's event stream", () => {
  let server: HttpServerHandle | undefined;
  afterEach(async () => server?.close());

  function fakeFeed() {
    const followers = new Set<(e: DashboardEvent) => void>();
    return {
      followers,
      follow: (_campaign: string | undefined, cb: (e: DashboardEvent) => void) => {
        followers.add(cb);
        return () => followers.delete(cb);
      },
      emit: (e: DashboardEvent) => followers.forEach((cb) => cb(e)),
    };
  }

  async function serve(streams: EventStreams): Promise<string> {
    server = await startHttpServer("127.0.0.1:0", "--http", { exact: { "/api/events": streams.handler } }, createLogger("test"));
    return `http://${server.address}/api/events`;
  }

  it("sends events as SSE, refuses a bad campaign name, and ends streams on close", async () => {
    const feed = fakeFeed();
    const streams = new EventStreams({ follow: feed.follow });
    const url = await serve(streams);
    expect((await fetch(`${url}?campaign=${encodeURIComponent("../x")}`)).status).toBe(400);
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? "";
    expect(feed.followers.size).toBe(1);
    feed.emit({ kind: "quantum", campaign: "c1", state: "SUCCEEDED" });
    while (!text.includes("\n\nevent: quantum")) text += (await reader.read()).value ?? "";
    while (!text.endsWith("\n\n")) text += (await reader.read()).value ?? "";
    expect(text).toContain('event: quantum\ndata: {"kind":"quantum","campaign":"c1","state":"SUCCEEDED"}\n\n');
    streams.close();
    expect(feed.followers.size).toBe(0);
    for (;;) if ((await reader.read()).done) break;
  });

  it("drops a client that reads too slowly instead of buffering for it", async () => {
    const feed = fakeFeed();
    const streams = new EventStreams({ follow: feed.follow, maxBufferedBytes: 64 * 1024 });
    const url = await serve(streams);
    const res = await fetch(url);
    const reader = res.body!.getReader();
    await reader.read();
    const big = { kind: "quantum", pad: "x".repeat(8 * 1024) };
    for (let i = 0; i < 2000 && feed.followers.size > 0; i++) feed.emit(big);
    expect(feed.followers.size).toBe(0);
    expect(streams.size).toBe(0);
    await reader.cancel().catch(() => undefined);
  });
});
