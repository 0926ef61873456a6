// The Redis QuantaStore (what the coordinator runs) passes the conformance
// suite on a real redis-server; its layout is read with plain Redis commands,
// so the suite also pins the `orrery:` keys other tools and older builds read.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { startRedis } from "../src/common/local/servers.js";
import { stopProcess } from "../src/common/local/child.js";
import { CoordinatorStore } from "../src/coordinator/store/index.js";
import type { CampaignKeys } from "../src/coordinator/workload/index.js";
import { describeQuantaStore } from "./quanta-store-conformance.js";
import { tempDir } from "./harness.js";

const generationKey = (kind: "quanta" | "index", c: CampaignKeys) => `orrery:campaign:${c.name}:${kind}${c.generation === "" ? "" : `:${c.generation}`}`;

describeQuantaStore("Redis (CoordinatorStore)", async () => {
  const dir = tempDir("quanta-store");
  try {
    mkdirSync(join(dir, "logs"), { recursive: true });
    const redis = await startRedis({ dir, logDir: join(dir, "logs") });
    const probe = new Redis(redis.url, { lazyConnect: true });
    return {
      open: async () => {
        const store = new CoordinatorStore(redis.url);
        await store.connect();
        return store;
      },
      layout: {
        definitionCount: (c) => probe.hlen(generationKey("quanta", c)),
        definitionGenerations: async (campaign) => {
          const prefix = `orrery:campaign:${campaign}:quanta`;
          // A key not of the form `<prefix>` or `<prefix>:<generation>` is kept whole, so it fails the comparison.
          const keys = await probe.keys(`${prefix}*`);
          return keys.map((k) => (k === prefix ? "" : k.startsWith(`${prefix}:`) ? k.slice(prefix.length + 1) : k)).sort();
        },
        generationRecords: (c) => probe.exists(generationKey("quanta", c), generationKey("index", c)),
        progressIds: (campaign) => probe.hkeys(`orrery:campaign:${campaign}:progress`),
      },
      stop: async () => {
        probe.disconnect();
        await stopProcess(redis.pid);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
});
