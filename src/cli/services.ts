// `orrery coordinator`: the coordinator as its own process (one per deployment).
import type { Command } from "commander";
import { runCoordinator } from "../coordinator/index.js";
import { signalReady } from "../common/ready.js";
import { printNotice } from "./output.js";

export function registerCoordinatorCommand(program: Command): void {
  program
    .command("coordinator")
    .description("run the coordinator: campaign API for the CLI and the agent link, state in Redis")
    .option("--listen <host:port>", "gRPC address to listen on", process.env["ORRERY_LISTEN"] ?? "127.0.0.1:7070")
    .option("--redis <url>", "Redis URL", process.env["ORRERY_REDIS"] ?? "redis://127.0.0.1:6379")
    .option("--nats <url>", "NATS URL", process.env["ORRERY_NATS"] ?? "nats://127.0.0.1:4222")
    .option("--lease-ttl <ms>", "lease lifetime without a heartbeat", (v) => Number(v), 15_000)
    .option("--heartbeat <ms>", "agent heartbeat interval", (v) => Number(v), 2000)
    .action(async (opts: { listen: string; redis: string; nats: string; leaseTtl: number; heartbeat: number }) => {
      const handle = await runCoordinator({ listen: opts.listen, redisUrl: opts.redis, natsUrl: opts.nats, leaseTtlMs: opts.leaseTtl, heartbeatIntervalMs: opts.heartbeat });
      printNotice(`coordinator listening on ${handle.address}`);
      signalReady({ address: handle.address });
      await waitForSignal();
      await handle.close();
    });
}

/** Resolves on SIGTERM or SIGINT: the process then shuts down cleanly. */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off("SIGTERM", on);
      process.off("SIGINT", on);
      resolve(sig);
    };
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  });
}
