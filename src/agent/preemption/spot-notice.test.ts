import { afterEach, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "../../common/logger.js";
import { watchSpotNotice, type SpotNotice, type SpotNoticeWatch } from "./spot-notice.js";

describe("watchSpotNotice", () => {
  let server: Server | undefined;
  let watch: SpotNoticeWatch | undefined;
  afterEach(async () => {
    watch?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("reports the notice once the metadata endpoint stops answering 404", async () => {
    let polls = 0;
    server = createServer((req, res) => {
      polls++;
      if (req.url !== "/latest/meta-data/spot/instance-action" || polls < 3) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ action: "terminate", time: "2026-11-22T03:00:00Z" }));
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const notice = await new Promise<SpotNotice>((resolve) => {
      watch = watchSpotNotice({ url: `http://127.0.0.1:${port}/latest/meta-data/spot/instance-action`, intervalMs: 20, log: createLogger("test"), onNotice: resolve });
    });
    expect(notice).toEqual({ action: "terminate", time: "2026-11-22T03:00:00Z" });
    expect(polls).toBe(3);
  });
});
