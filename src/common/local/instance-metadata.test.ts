import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { clearSpotNotice, createInstanceMetadataServer, postSpotNotice, registerSpotAgent, spotNoticeUrl } from "./instance-metadata.js";

describe("the local instance-metadata service", () => {
  let server: Server | undefined;
  let data: string | undefined;
  let now = 1_000_000;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    if (data) rmSync(data, { recursive: true, force: true });
  });

  async function start(): Promise<string> {
    data = mkdtempSync(join(tmpdir(), "orrery-imds-"));
    server = createInstanceMetadataServer(data, () => now);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const token = async (base: string, agent: string, ttl = "60") => {
    const res = await request(`${base}/${agent}/latest/api/token`, { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": ttl } });
    return { status: res.statusCode, body: await res.body.text() };
  };
  const notice = async (base: string, agent: string, t?: string) => {
    const res = await request(spotNoticeUrl(base, agent), { headers: t === undefined ? {} : { "x-aws-ec2-metadata-token": t } });
    return { status: res.statusCode, body: await res.body.text() };
  };

  it("answers 401 without a valid token, 404 while there is no notice, then 200 with it", async () => {
    const base = await start();
    registerSpotAgent(data!, "agent-2-site-a-spot");
    expect((await notice(base, "agent-2-site-a-spot")).status).toBe(401);
    expect((await notice(base, "agent-2-site-a-spot", "made-up")).status).toBe(401);
    // IMDSv2: a token only by PUT, with a TTL in EC2's bounds.
    expect((await token(base, "agent-2-site-a-spot", "0")).status).toBe(400);
    expect((await request(`${base}/agent-2-site-a-spot/latest/api/token`)).statusCode).toBe(405);
    const t = await token(base, "agent-2-site-a-spot");
    expect(t.status).toBe(200);
    expect((await notice(base, "agent-2-site-a-spot", t.body)).status).toBe(404);

    postSpotNotice(data!, "agent-2-site-a-spot", { action: "terminate", time: "2026-12-01T23:59:00Z" });
    const got = await notice(base, "agent-2-site-a-spot", t.body);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body)).toEqual({ action: "terminate", time: "2026-12-01T23:59:00Z" });

    // The token expires with its TTL.
    now += 61_000;
    expect((await notice(base, "agent-2-site-a-spot", t.body)).status).toBe(401);
    clearSpotNotice(data!, "agent-2-site-a-spot");
    expect((await notice(base, "agent-2-site-a-spot", (await token(base, "agent-2-site-a-spot")).body)).status).toBe(404);
  });

  it("gives each agent its own endpoint: another's token is refused, an unknown agent has none", async () => {
    const base = await start();
    registerSpotAgent(data!, "spot-1");
    registerSpotAgent(data!, "spot-2");
    postSpotNotice(data!, "spot-2", { action: "terminate", time: "2026-12-01T23:59:00Z" });
    const t1 = (await token(base, "spot-1")).body;
    expect((await notice(base, "spot-1", t1)).status).toBe(404);
    expect((await notice(base, "spot-2", t1)).status).toBe(401);
    expect((await token(base, "not-a-spot-agent")).status).toBe(404);
    expect((await token(base, "..")).status).toBe(404);
  });
});
