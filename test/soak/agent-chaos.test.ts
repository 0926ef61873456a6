// Chaos on the real local cluster, agents this time: 100 kills and
// preemptions in one campaign. Agents are killed with SIGKILL and restarted
// (`local restart AGENT`: same id, same journal) or replaced by a new one
// (`local agent add`: their leases must expire); spot agents are preempted
// with SIGTERM and come back. Nothing may be lost: the campaign SUCCEEDS,
// every quantum succeeded exactly once, every killed attempt is a kill (lost
// or preempted), never a failure, and every output has one AVAILABLE replica.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import { addAgent, startCluster, stopCluster } from "../../src/common/local/cluster.js";
import { isAlive } from "../../src/common/local/child.js";
import { restartProcess } from "../../src/common/local/restart.js";
import type { ClusterProcess } from "../../src/common/local/cluster-file.js";
import { orreryJson, REPO_ROOT } from "../cli-runner.js";
import { tempDir } from "../harness.js";
import { campaignStatus, clusterCli, expectNothingLost, explainEnd, prepareChaosCampaign, progress, waitForCampaignEnd, type ChaosCampaign } from "../fixtures/chaos-campaign.js";

const EVENTS = 100;
const FRAMES = Number(process.env["ORRERY_CHAOS_FRAMES"] ?? 300);
/** Fewer agents up than this and the next kill waits for the restarts. */
const MIN_UP = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface AgentSlot {
  name: string;
  pid: number;
  site: string;
  spot: boolean;
  up: boolean;
}

type Event = "kill-restart" | "kill-replace" | "preempt";

describe("chaos: 100 agent kills and preemptions in one campaign", () => {
  let dir: string;
  let campaign: ChaosCampaign;
  const agents = new Map<string, AgentSlot>();

  beforeAll(async () => {
    dir = tempDir("chaos-agents");
    const cluster = await startCluster({ dir, sites: 2, agents: 8, spot: 3, softwareRoot: REPO_ROOT, agentCores: 2, leaseTtlMs: 5000, heartbeatMs: 500 });
    for (const p of cluster.processes) if (p.role === "agent") agents.set(p.name, slotOf(p));
    campaign = await prepareChaosCampaign(dir, { name: "chaos-agents", frames: FRAMES, seconds: 3, kills: 50 });
  });

  afterAll(async () => {
    if (dir === undefined) return;
    await stopCluster(dir);
    // ORRERY_CHAOS_KEEP=1 keeps the cluster's folder (logs, data) to look into a failure.
    if (process.env["ORRERY_CHAOS_KEEP"]) console.log(`chaos: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });

  function slotOf(p: ClusterProcess): AgentSlot {
    return { name: p.name, pid: p.pid, site: p.site ?? "", spot: p.name.endsWith("-spot"), up: true };
  }

  it(`survives ${EVENTS} agent kills and preemptions, losing nothing`, async () => {
    const started = Date.now();
    const cli = clusterCli(dir);
    const submitted = await cli.run(["submit", campaign.file]);
    expect(submitted.code, submitted.stderr).toBe(0);
    while (progress(await campaignStatus(dir, campaign.name)).done < 4) await sleep(500);

    // Restarts run in the background while the kills go on, side by side; new
    // agents one at a time (each takes the next free index in cluster.json).
    const pending = new Set<Promise<void>>();
    let adds: Promise<unknown> = Promise.resolve();
    const restartErrors: string[] = [];
    const allRestarted = async () => {
      while (pending.size > 0) await Promise.all(pending);
    };
    const queueRestart = (what: string, start: () => Promise<ClusterProcess>, slot: AgentSlot, serial: boolean) => {
      const started = serial ? adds.then(start) : start();
      if (serial) adds = started.catch(() => undefined);
      const done = started.then(
        (p) => {
          if (p.name === slot.name) Object.assign(slot, { pid: p.pid, up: true });
          else agents.set(p.name, slotOf(p));
        },
        (err: unknown) => {
          restartErrors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
      pending.add(done);
      void done.finally(() => pending.delete(done));
    };
    // Every fifth restart through the real CLI, as an operator runs it.
    let viaCli = 0;
    const cliRestart = async (args: string[]): Promise<ClusterProcess> => {
      viaCli++;
      return orreryJson<ClusterProcess>(["local", ...args, "--dir", dir]);
    };

    const counts: Record<Event, number> = { "kill-restart": 0, "kill-replace": 0, preempt: 0 };
    let rand = 20261201;
    const random = () => ((rand = (rand * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < EVENTS; n++) {
      if (n % 10 === 0) {
        const status = await campaignStatus(dir, campaign.name);
        expect(status.state, `the campaign must still be running at event ${n} (make it bigger: ORRERY_CHAOS_FRAMES)`).toBe("RUNNING");
      }
      while ([...agents.values()].filter((a) => a.up).length < MIN_UP) await Promise.race(pending);
      const up = [...agents.values()].filter((a) => a.up);
      const spots = up.filter((a) => a.spot);
      const event: Event = n % 3 === 2 && spots.length > 0 ? "preempt" : n % 5 === 4 ? "kill-replace" : "kill-restart";
      const pool = event === "preempt" ? spots : up;
      const victim = pool[Math.floor(random() * pool.length)]!;
      victim.up = false;
      counts[event]++;
      process.kill(victim.pid, event === "preempt" ? "SIGTERM" : "SIGKILL");
      const useCli = n % 5 === 0;
      if (event === "kill-replace") {
        // The dead agent stays dead; a new one takes its place at its site.
        queueRestart(victim.name, () => (useCli ? cliRestart(["agent", "add", "--site", victim.site, ...(victim.spot ? ["--spot"] : [])]) : addAgent(dir, victim.site, victim.spot)), victim, true);
      } else {
        const pid = victim.pid;
        queueRestart(
          victim.name,
          async () => {
            // A preempted agent reports and leaves on its own: wait for that, then the node comes back.
            const until = Date.now() + 15_000;
            while (isAlive(pid) && Date.now() < until) await sleep(50);
            return useCli ? cliRestart(["restart", victim.name]) : restartProcess(dir, victim.name);
          },
          victim,
          false,
        );
      }
      await sleep(400 + random() * 600);
    }
    await allRestarted();
    expect(restartErrors).toEqual([]);
    const killedAt = Math.round((Date.now() - started) / 1000);

    const end = await waitForCampaignEnd(dir, campaign.name, 600_000);
    expect(end.state, await explainEnd(dir, end)).toBe("SUCCEEDED");
    expect(end.failures).toBe(0);
    const { quanta, outcomes } = await expectNothingLost(dir, campaign, FRAMES * 2);
    // Killed attempts are kills, not failures.
    const notKills = quanta.flatMap((q) => q.attempts.filter((a) => a.outcome !== "succeeded" && a.outcome !== "lost" && a.outcome !== "preempted").map((a) => `${q.id}: ${a.outcome}@${a.agent}`));
    expect(notKills, "attempts that are neither succeeded nor a kill").toEqual([]);
    expect(end.kills).toBe((outcomes["lost"] ?? 0) + (outcomes["preempted"] ?? 0));
    // The kills hit running work, both kinds of it.
    expect(outcomes["lost"] ?? 0).toBeGreaterThan(0);
    expect(outcomes["preempted"] ?? 0).toBeGreaterThan(0);
    const seconds = Math.round((Date.now() - started) / 1000);
    console.log(
      `chaos: ${EVENTS} agent kills and preemptions survived (${JSON.stringify(counts)}, ${viaCli} through the CLI, over ${killedAt} s); ${FRAMES * 2} quanta, attempts ${JSON.stringify(outcomes)}, ${seconds} s`,
    );
  }, 1_200_000);
});
