// A CampaignService client for one command: the channel is checked first, so
// an unreachable coordinator fails fast (exit 3) naming its address.
import type { Command } from "commander";
import { createUnaryClient, waitForChannel, type UnaryClient } from "../common/grpc-service.js";
import { CampaignService } from "../gen/orrery/v1/coordinator_pb.js";
import { resolveConnection } from "./connection.js";
import { globalOptions } from "./global-options.js";

export type CampaignClient = UnaryClient<(typeof CampaignService)["method"]>;

/** How long a command waits for the coordinator's channel before calling it unreachable. */
const CONNECT_TIMEOUT_MS = 3_000;

export async function withCampaignClient<T>(cmd: Command, fn: (client: CampaignClient) => Promise<T>): Promise<T> {
  const { coordinator, security } = resolveConnection({ cluster: globalOptions(cmd).cluster, need: "coordinator" });
  const client = createUnaryClient(CampaignService, coordinator, undefined, security);
  try {
    await waitForChannel(client.raw, coordinator, CONNECT_TIMEOUT_MS);
    return await fn(client);
  } finally {
    client.close();
  }
}
