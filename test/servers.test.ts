import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { jetstreamManager } from "@nats-io/jetstream";
import { connectNats } from "../src/common/nats.js";
import { s3ClientFor } from "../src/common/s3.js";
import { isAlive } from "../src/common/local/child.js";
import { startTestServers, type TestServers } from "./harness.js";

describe("test servers", () => {
  let servers: TestServers;
  beforeAll(async () => {
    servers = await startTestServers("servers", ["smoke"]);
  });
  afterAll(async () => {
    await servers.stop();
  });

  it("serves redis with AOF, JetStream and S3 on loopback", async () => {
    const redis = new Redis(servers.redis.url);
    try {
      expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    } finally {
      redis.disconnect();
    }
    const nc = await connectNats(servers.nats.url, "smoke");
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      expect(info.limits).toBeDefined();
    } finally {
      await nc.close();
    }
    const s3 = s3ClientFor(servers.s3.endpoint);
    await s3.send(new PutObjectCommand({ Bucket: "smoke", Key: "a/b.txt", Body: "hello" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "smoke", Key: "a/b.txt" }));
    expect(await got.Body?.transformToString()).toBe("hello");
  });

  it("stops what it started", async () => {
    const pids = [servers.nats.pid, servers.redis.pid, servers.s3.pid];
    await servers.stop();
    expect(pids.map(isAlive)).toEqual([false, false, false]);
  });
});
