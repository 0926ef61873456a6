import { afterEach, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "../../common/logger.js";
import { tokenUrlOf, watchSpotNotice, type SpotNotice, type SpotNoticeWatch } from "./spot-notice.js";

const NOTICE = { action: "terminate", time: "2026-11-22T03:00:00Z" };

describe("watchSpotNotice", () => {
  let server: Server | undefined;
  let watch: SpotNoticeWatch | undefined;
  afterEach(async () => {
    watch?.stop();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/node-1/latest/meta-data/spot/instance-action`;
  }

  function noticeOf(url: string): Promise<SpotNotice> {
    return new Promise<SpotNotice>((resolve) => {
      watch = watchSpotNotice({ url, intervalMs: 20, log: createLogger("test"), onNotice: resolve });
    });
  }

  it("finds the token URL beside the notice, as on EC2", () => {
    expect(tokenUrlOf("http://169.254.169.254/latest/meta-data/spot/instance-action")).toBe("http://169.254.169.254/latest/api/token");
    expect(tokenUrlOf("http://127.0.0.1:9/agent-2/latest/meta-data/spot/instance-action")).toBe("http://127.0.0.1:9/agent-2/latest/api/token");
  });

  it("polls with an IMDSv2 token, gets a new one on 401, and reports the notice once it stops answering 404", async () => {
    let issued = 0;
    const tokensSeen: string[] = [];
    let polls = 0;
    const url = await serve((req, res) => {
      if (req.method === "PUT" && req.url === "/node-1/latest/api/token") {
        expect(req.headers["x-aws-ec2-metadata-token-ttl-seconds"]).toBe("21600");
        res.writeHead(200).end(`token-${++issued}`);
        return;
      }
      const token = String(req.headers["x-aws-ec2-metadata-token"] ?? "");
      tokensSeen.push(token);
      polls++;
      // The second poll finds the service restarted: its first token is forgotten.
      if (token === "" || (polls >= 2 && token === "token-1")) return void res.writeHead(401).end();
      if (polls < 4) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(NOTICE));
    });
    expect(await noticeOf(url)).toEqual(NOTICE);
    expect(issued).toBe(2);
    expect(tokensSeen).toEqual(["token-1", "token-1", "token-2", "token-2"]);
  });

  it("polls without a token a service that has none (IMDSv1)", async () => {
    let polls = 0;
    const url = await serve((req, res) => {
      if (req.method === "PUT") return void res.writeHead(404).end();
      expect(req.headers["x-aws-ec2-metadata-token"]).toBeUndefined();
      if (++polls < 3) return void res.writeHead(404).end();
      res.writeHead(200).end(JSON.stringify(NOTICE));
    });
    expect(await noticeOf(url)).toEqual(NOTICE);
    expect(polls).toBe(3);
  });
});
