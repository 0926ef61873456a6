// Starting the local instance-metadata service (metadata-server.ts) and
// pointing a spot agent at its endpoint there.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startService, type StartedService } from "./child.js";
import { freePort } from "./ports.js";
import { metadataDir, registerSpotAgent, spotNoticeUrl } from "./instance-metadata.js";
import type { ClusterFile } from "./cluster-file.js";

// Run from dist/ whether this module runs from src/ or dist/ (as the S3 server is).
const METADATA_SERVER = fileURLToPath(new URL("../../../dist/common/local/metadata-server.js", import.meta.url));

/** How often a local spot agent polls its notice: EC2 advises every 5 s; a local cluster answers at once. */
export const LOCAL_NOTICE_INTERVAL = "1s";

export interface MetadataServer extends StartedService {
  url: string;
}

/** The service over DATA/metadata, on `port` (a restart keeps its address) or a free one. */
export async function startMetadata(opts: { dataDir: string; logDir: string; port?: number }): Promise<MetadataServer> {
  const port = opts.port ?? (await freePort());
  mkdirSync(metadataDir(opts.dataDir), { recursive: true });
  const svc = await startService({
    name: "metadata",
    command: process.execPath,
    args: [METADATA_SERVER, "--data", opts.dataDir, "--port", String(port)],
    logFile: join(opts.logDir, "metadata.log"),
    readiness: { kind: "tcp", port },
  });
  return { ...svc, url: `http://127.0.0.1:${port}` };
}

/** The metadata service's URL in the cluster, if it has one. */
export function metadataUrlOf(cluster: ClusterFile): string | undefined {
  return cluster.processes.find((p) => p.role === "metadata")?.address;
}

/** Registers a spot agent with the service and returns the flags that point it there. */
export function spotAgentArgs(cluster: ClusterFile, agentId: string): string[] {
  const url = metadataUrlOf(cluster);
  if (url === undefined) return [];
  registerSpotAgent(join(cluster.dir, "data"), agentId);
  return ["--spot-notice-url", spotNoticeUrl(url, agentId), "--spot-notice-interval", LOCAL_NOTICE_INTERVAL];
}
