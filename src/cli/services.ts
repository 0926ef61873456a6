// `orrery coordinator`: the coordinator as its own process (one per deployment).
import type { Command } from "commander";
import { DEFAULT_LOCALITY_DELAY_MS, runCoordinator } from "../coordinator/index.js";
import { signalReady } from "../common/ready.js";
import { printNotice } from "./output.js";
import { parseDuration } from "../common/duration.js";
import { ErrorCode, OrreryError } from "../common/errors.js";

function parseLocalityDelay(value: string): number {
  return parseDuration(value, "--locality-delay") * 1000;
}

function parseOnOff(value: string): "on" | "off" {
  if (value === "on" || value === "off") return value;
  throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--prestage "${value}" is not on or off`, { hint: "write --prestage on or --prestage off" });
}

/** A positive duration in ms: a lifetime or interval of 0 would make rules that never help, or a busy loop. */
function positiveMs(flag: string, value: string): number {
  const ms = parseDuration(value, flag) * 1000;
  if (ms <= 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${flag} must be more than 0`, { hint: `e.g. ${flag} 2h` });
  return ms;
}

export function registerCoordinatorCommand(program: Command): void {
  program
    .command("coordinator")
    .description("run the coordinator: campaign API for the CLI and the agent link, state in Redis")
    .option("--listen <host:port>", "gRPC address to listen on", process.env["ORRERY_LISTEN"] ?? "127.0.0.1:7070")
    .option("--redis <url>", "Redis URL", process.env["ORRERY_REDIS"] ?? "redis://127.0.0.1:6379")
    .option("--nats <url>", "NATS URL", process.env["ORRERY_NATS"] ?? "nats://127.0.0.1:4222")
    .option("--lease-ttl <ms>", "lease lifetime without a heartbeat", (v) => Number(v), 15_000)
    .option("--heartbeat <ms>", "agent heartbeat interval", (v) => Number(v), 2000)
    .option("--locality-delay <duration>", "how long a quantum waits for an agent at its data's site before it runs anywhere (a campaign's localityWait overrides it)", parseLocalityDelay, DEFAULT_LOCALITY_DELAY_MS)
    .option("--prestage <on|off>", "ask the data backbone for transient rules that copy waiting quanta's inputs to sites whose agents are idle", parseOnOff, "on")
    .option("--prestage-lifetime <duration>", "lifetime of those rules", "2h")
    .option("--prestage-interval <duration>", "how often the coordinator looks for idle sites and waiting quanta", "2s")
    .option("--http <host:port>", "serve the web dashboard at /, Prometheus metrics at /metrics and /healthz over HTTP here (default $ORRERY_HTTP; none: no HTTP)")
    .option("--tls-cert <file>", "serve gRPC over TLS with this PEM certificate (default $ORRERY_TLS_CERT; none: plaintext)")
    .option("--tls-key <file>", "the certificate's PEM private key (default $ORRERY_TLS_KEY)")
    .addHelpText(
      "after",
      "\nBearer tokens: when $ORRERY_OPERATOR_TOKEN and/or $ORRERY_AGENT_TOKEN are set, every call must carry one\n" +
        "(`authorization: Bearer TOKEN`): the operator token for the campaign API, the agent token for the agent link.\n" +
        "Tokens are taken from the environment only, never from the command line.",
    )
    .action(async (opts: { listen: string; redis: string; nats: string; leaseTtl: number; heartbeat: number; localityDelay: number; prestage: "on" | "off"; prestageLifetime: string; prestageInterval: string; http?: string; tlsCert?: string; tlsKey?: string }) => {
      const tls = tlsFiles(opts.tlsCert ?? env("ORRERY_TLS_CERT"), opts.tlsKey ?? env("ORRERY_TLS_KEY"));
      const operator = env("ORRERY_OPERATOR_TOKEN");
      const http = opts.http ?? env("ORRERY_HTTP");
      const agent = env("ORRERY_AGENT_TOKEN");
      const handle = await runCoordinator({
        ...(tls ? { tls } : {}),
        ...(operator !== undefined || agent !== undefined ? { tokens: { ...(operator !== undefined ? { operator } : {}), ...(agent !== undefined ? { agent } : {}) } } : {}),
        listen: opts.listen,
        ...(http !== undefined ? { http } : {}),
        redisUrl: opts.redis,
        natsUrl: opts.nats,
        leaseTtlMs: opts.leaseTtl,
        heartbeatIntervalMs: opts.heartbeat,
        localityDelayMs: opts.localityDelay,
        prestage: opts.prestage === "on" && { lifetimeMs: positiveMs("--prestage-lifetime", opts.prestageLifetime), intervalMs: positiveMs("--prestage-interval", opts.prestageInterval) },
      });
      printNotice(`coordinator listening on ${handle.address}${handle.httpAddress ? `; dashboard at http://${handle.httpAddress}/` : ""}`);
      signalReady({ address: handle.address, ...(handle.httpAddress ? { http: handle.httpAddress } : {}) });
      await waitForSignal();
      await handle.close();
    });
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === "" ? undefined : v;
}

function tlsFiles(certFile: string | undefined, keyFile: string | undefined): { certFile: string; keyFile: string } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "TLS needs both a certificate and its key", { hint: "give --tls-cert and --tls-key (or $ORRERY_TLS_CERT and $ORRERY_TLS_KEY)" });
  }
  return { certFile, keyFile };
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
