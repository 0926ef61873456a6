// `orrery local preempt AGENT [--in DURATION]`: the cloud reclaiming a spot
// node. The notice goes where the agent's instance-metadata endpoint reads
// it; the agent, polling, stops taking work, reports its running quanta
// preempted and leaves.
import { join, resolve } from "node:path";
import { ErrorCode, OrreryError } from "../errors.js";
import { isAlive } from "./child.js";
import { readCluster } from "./cluster-store.js";
import { postSpotNotice, type SpotInstanceAction } from "./instance-metadata.js";

export interface PostedNotice extends SpotInstanceAction {
  agent: string;
  /** Whether the metadata service is up to serve it now (else it is served once it is restarted). */
  served: boolean;
}

export function preemptAgent(dir: string, agent: string, inMs: number, now = Date.now()): PostedNotice {
  const cluster = readCluster(dir);
  if (!cluster) throw new OrreryError(ErrorCode.UNAVAILABLE, `no local cluster in ${resolve(dir)}`, { hint: "start one with `orrery local up`" });
  const agents = cluster.processes.filter((p) => p.role === "agent");
  const spot = agents.filter((p) => p.args !== undefined && p.args[p.args.indexOf("--kind") + 1] === "spot").map((p) => p.name);
  const proc = agents.find((p) => p.name === agent);
  if (!proc) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `the local cluster has no agent "${agent}"`, {
      hint: spot.length > 0 ? `its spot agents: ${spot.join(", ")}` : "it has no spot agents; add one with `orrery local agent add --spot`",
    });
  }
  if (!spot.includes(agent)) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `agent ${agent} is not a spot agent: only spot agents get a preemption notice`, {
      hint: spot.length > 0 ? `its spot agents: ${spot.join(", ")}` : "add one with `orrery local agent add --spot`",
    });
  }
  const notice: SpotInstanceAction = { action: "terminate", time: new Date(now + inMs).toISOString().replace(/\.\d{3}Z$/, "Z") };
  postSpotNotice(join(cluster.dir, "data"), agent, notice);
  const md = cluster.processes.find((p) => p.role === "metadata");
  return { agent, ...notice, served: md !== undefined && isAlive(md.pid) };
}
