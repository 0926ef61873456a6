// Server chaos with long outages: each of the coordinator, the dbb,
// nats-server and redis-server killed with SIGKILL and kept down longer than a
// lease lives (the Redis outage). An outage is the cluster's fault, not
// the agents': no lease may expire against them, nothing is lost or done
// twice, and every output keeps exactly one AVAILABLE replica.
import { afterAll, beforeAll, describe, it } from "vitest";
import { rmSync } from "node:fs";
import { startCluster, stopCluster } from "../../src/common/local/cluster.js";
import { REPO_ROOT } from "../cli-runner.js";
import { tempDir } from "../harness.js";
import { prepareChaosCampaign, type ChaosCampaign } from "../fixtures/chaos-campaign.js";
import { runServerChaos } from "../fixtures/server-chaos.js";

const FRAMES = 100;
const LEASE_TTL_MS = 5000;

describe("chaos: server kills with outages longer than a lease", () => {
  let dir: string;
  let campaign: ChaosCampaign;

  beforeAll(async () => {
    dir = tempDir("chaos-outages");
    await startCluster({ dir, sites: 2, agents: 4, softwareRoot: REPO_ROOT, agentCores: 2, leaseTtlMs: LEASE_TTL_MS, heartbeatMs: 500 });
    campaign = await prepareChaosCampaign(dir, { name: "chaos-outages", frames: FRAMES, seconds: 2 });
  });

  afterAll(async () => {
    if (dir === undefined) return;
    await stopCluster(dir);
    // ORRERY_CHAOS_KEEP=1 keeps the cluster's folder (logs, data) to look into a failure.
    if (process.env["ORRERY_CHAOS_KEEP"]) console.log(`chaos: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  it("survives kill -9 of each server kept down for twice a lease's life, losing nothing", async () => {
    console.log(await runServerChaos(dir, campaign, { quanta: FRAMES * 2, outageMs: 2 * LEASE_TTL_MS }));
  }, 900_000);
});
