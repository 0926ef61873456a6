// Chaos on the real local cluster: mid-campaign, the coordinator, the dbb,
// nats-server and redis-server are each killed with SIGKILL, one after
// another, and brought back with `orrery local restart NAME` after a short
// outage. Nothing may be lost or done twice: the campaign SUCCEEDS, every
// quantum succeeded exactly once, every output has exactly one AVAILABLE replica.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { readCluster, startCluster, stopCluster } from "../src/common/local/cluster.js";
import { isAlive } from "../src/common/local/child.js";
import { orrery, REPO_ROOT } from "./cli-runner.js";
import { tempDir } from "./harness.js";
import { campaignStatus, clusterCli, expectNothingLost, prepareChaosCampaign, progress, waitForCampaignEnd, type ChaosCampaign } from "./fixtures/chaos-campaign.js";

const FRAMES = 60;
const OUTAGE_MS = 2000;
const SERVERS = ["coordinator", "dbb", "nats", "redis"] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("chaos: server kills mid-campaign", () => {
  let dir: string;
  let campaign: ChaosCampaign;

  beforeAll(async () => {
    dir = tempDir("chaos-servers");
    await startCluster({ dir, sites: 2, agents: 4, softwareRoot: REPO_ROOT, agentCores: 2 });
    campaign = await prepareChaosCampaign(dir, { name: "chaos-servers", frames: FRAMES, seconds: 1 });
  });

  afterAll(async () => {
    if (dir === undefined) return;
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("survives kill -9 of the coordinator, the dbb, nats-server and redis-server, losing nothing", async () => {
    const started = Date.now();
    const cli = clusterCli(dir);
    const submitted = await cli.run(["submit", campaign.file]);
    expect(submitted.code, submitted.stderr).toBe(0);

    // Mid-run: some quanta done, most still to come.
    let done = 0;
    while (done < 4) {
      await sleep(500);
      done = progress(await campaignStatus(dir, campaign.name)).done;
    }

    const survived: string[] = [];
    for (const name of SERVERS) {
      const before = await campaignStatus(dir, campaign.name);
      expect(before.state, `the campaign must still be running when ${name} is killed (make it bigger)`).toBe("RUNNING");
      const pid = readCluster(dir)!.processes.find((p) => p.name === name)!.pid;
      process.kill(pid, "SIGKILL");
      while (isAlive(pid)) await sleep(20);
      await sleep(OUTAGE_MS);
      // Each one through the real CLI, as an operator brings it back.
      const restarted = await orrery(["local", "restart", name, "--dir", dir]);
      expect(restarted.code, restarted.stderr).toBe(0);
      survived.push(name);
      // Recovered: the campaign makes progress again before the next kill.
      const doneBefore = progress(before).done;
      const until = Date.now() + 60_000;
      let now = await campaignStatus(dir, campaign.name);
      while (now.state === "RUNNING" && progress(now).done <= doneBefore && Date.now() < until) {
        await sleep(500);
        now = await campaignStatus(dir, campaign.name);
      }
      expect(progress(now).done, `progress after ${name} came back`).toBeGreaterThan(doneBefore);
    }

    const end = await waitForCampaignEnd(dir, campaign.name, 240_000);
    expect(end.state).toBe("SUCCEEDED");
    expect(end.failures).toBe(0);
    const { outcomes } = await expectNothingLost(dir, campaign, FRAMES * 2);
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(`chaos: ${survived.length} server kills survived (${survived.join(", ")}); ${FRAMES * 2} quanta, attempts ${JSON.stringify(outcomes)}, ${seconds} s`);
  }, 420_000);
});
