// Chaos on the real local cluster: mid-campaign, the coordinator, the dbb,
// nats-server and redis-server are each killed with SIGKILL, one after
// another, and brought back with `orrery local restart NAME` after a short
// outage. Nothing may be lost or done twice: the campaign SUCCEEDS, every
// quantum succeeded exactly once, every output has exactly one AVAILABLE replica.
// (server-outage-chaos.test.ts does it again with outages longer than a lease.)
import { afterAll, beforeAll, describe, it } from "vitest";
import { rmSync } from "node:fs";
import { startCluster, stopCluster } from "../../src/common/local/cluster.js";
import { REPO_ROOT } from "../cli-runner.js";
import { tempDir } from "../harness.js";
import { prepareChaosCampaign, type ChaosCampaign } from "../fixtures/chaos-campaign.js";
import { runServerChaos } from "../fixtures/server-chaos.js";

const FRAMES = 60;

describe("chaos: server kills mid-campaign", () => {
  let dir: string;
  let campaign: ChaosCampaign;

  beforeAll(async () => {
    dir = tempDir("chaos-servers");
    await startCluster({ dir, sites: 2, agents: 4, softwareRoot: REPO_ROOT, agentCores: 2 });
    campaign = await prepareChaosCampaign(dir, { name: "chaos-servers", frames: FRAMES, seconds: 2 });
  });

  afterAll(async () => {
    if (dir === undefined) return;
    await stopCluster(dir);
    // ORRERY_CHAOS_KEEP=1 keeps the cluster's folder (logs, data) to look into a failure.
    if (process.env["ORRERY_CHAOS_KEEP"]) console.log(`chaos: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it("survives kill -9 of the coordinator, the dbb, nats-server and redis-server, losing nothing", async () => {
    console.log(await runServerChaos(dir, campaign, { quanta: FRAMES * 2, outageMs: 2000 }));
  }, 420_000);
});
