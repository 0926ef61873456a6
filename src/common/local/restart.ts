// `orrery local restart NAME`: a process of the local cluster started again
// (stopped first if alive) with the same address, data and credentials, so a
// test or an operator can kill any of them and bring it back.
import { join, resolve } from "node:path";
import { ErrorCode, OrreryError } from "../errors.js";
import { isAlive, stopProcess } from "./child.js";
import { pilotsEnv, roleEnv, siteBuckets, startOrrery } from "./cluster.js";
import { readCluster, updateClusterProcess } from "./cluster-store.js";
import type { ClusterProcess } from "./cluster-file.js";
import { natsServerConfig, redisServerPassword, s3ServerKey } from "./cluster-security.js";
import { startNats, startRedis, startS3 } from "./servers.js";
import { startMetadata } from "./metadata.js";
import { clearSpotNotice, isSpotAgentRegistered } from "./instance-metadata.js";
import { slurmRoleOf, startSlurmDaemon } from "./slurm.js";

function portOf(url: string): number {
  return Number(new URL(url.includes("://") ? url : `tcp://${url}`).port);
}

export async function restartProcess(dir: string, name: string): Promise<ClusterProcess> {
  const cluster = readCluster(dir);
  if (!cluster) throw new OrreryError(ErrorCode.UNAVAILABLE, `no local cluster in ${resolve(dir)}`, { hint: "start one with `orrery local up`" });
  const proc = cluster.processes.find((p) => p.name === name);
  if (!proc) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `the local cluster has no process "${name}"`, {
      hint: `give one of: ${cluster.processes.map((p) => p.name).join(", ")}`,
    });
  }
  if (isAlive(proc.pid)) await stopProcess(proc.pid, proc.role === "agent" ? 10_000 : 5000);
  const logDir = join(cluster.dir, "logs");
  const dataDir = join(cluster.dir, "data");
  let pid: number;
  switch (proc.role) {
    case "nats":
      pid = (await startNats({ dir: dataDir, logDir, port: portOf(cluster.nats), ...natsServerConfig(cluster) })).pid;
      break;
    case "redis":
      pid = (await startRedis({ dir: dataDir, logDir, port: portOf(cluster.redis), ...redisServerPassword(cluster) })).pid;
      break;
    case "s3": {
      const site = proc.site ?? "";
      pid = (await startS3({ dir: dataDir, logDir, name: proc.name, buckets: siteBuckets(site, cluster.sites.indexOf(site)), port: portOf(proc.address), ...s3ServerKey(cluster, site) })).pid;
      break;
    }
    case "metadata":
      pid = (await startMetadata({ dataDir, logDir, port: portOf(proc.address) })).pid;
      break;
    case "slurm":
      pid = (await startSlurmDaemon(cluster.dir, slurmRoleOf(proc.name))).pid;
      break;
    case "pilots":
      if (!proc.args) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${name} was started without its command line recorded`, { hint: "restart the whole cluster (orrery local down, then up)" });
      pid = (await startOrrery(proc.name, proc.args, logDir, pilotsEnv(cluster))).pid;
      break;
    case "coordinator":
    case "dbb":
    case "agent":
      // A spot node brought back under its id is a new node: its predecessor's notice is not its own.
      if (proc.role === "agent" && isSpotAgentRegistered(dataDir, proc.name)) clearSpotNotice(dataDir, proc.name);
      if (!proc.args) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${name} was started without its command line recorded`, { hint: "restart the whole cluster (orrery local down, then up)" });
      pid = (await startOrrery(proc.name, proc.args, logDir, roleEnv(cluster, proc.role, proc.site, proc.role === "agent" ? proc.name : undefined))).pid;
  }
  // Re-read: other restarts may have changed the file while this one started.
  return updateClusterProcess(dir, proc.name, { pid });
}
