// `orrery coordinator`: the coordinator as its own process (one per deployment).
import type { Command } from "commander";
import { runCoordinator } from "../coordinator/index.js";
import { COORDINATOR_DEFAULTS, COORDINATOR_SETTINGS, addSettingOptions, resolveSettings } from "../common/settings/index.js";
import { signalReady } from "../common/ready.js";
import { printNotice } from "./output.js";
import { ErrorCode, OrreryError } from "../common/errors.js";

export function registerCoordinatorCommand(program: Command): void {
  const cmd = program.command("coordinator").description("run the coordinator: campaign API for the CLI and the agent link, state in Redis");
  addSettingOptions(cmd, COORDINATOR_SETTINGS, COORDINATOR_DEFAULTS)
    .addHelpText(
      "after",
      "\nBearer tokens: when $ORRERY_OPERATOR_TOKEN and/or $ORRERY_AGENT_TOKEN are set, every call must carry one\n" +
        "(`authorization: Bearer TOKEN`): the operator token for the campaign API, the agent token for the agent link.\n" +
        "Tokens are taken from the environment only, never from the command line.",
    )
    .action(async (flags: Record<string, unknown> & { config?: string }) => {
      const s = resolveSettings("coordinator", COORDINATOR_SETTINGS, COORDINATOR_DEFAULTS, { flags, configFile: flags.config });
      const tls = tlsFiles(s.tlsCert, s.tlsKey);
      const { operatorToken: operator, agentToken: agent } = s;
      const handle = await runCoordinator({
        ...(tls ? { tls } : {}),
        ...(operator !== undefined || agent !== undefined ? { tokens: { ...(operator !== undefined ? { operator } : {}), ...(agent !== undefined ? { agent } : {}) } } : {}),
        listen: s.listen,
        redisUrl: s.redis,
        natsUrl: s.nats,
        leaseTtlMs: s.leaseTtl,
        heartbeatIntervalMs: s.heartbeat,
        localityDelayMs: s.localityDelay,
        prestage: s.prestage === "on" && { lifetimeMs: s.prestageLifetime, intervalMs: s.prestageInterval },
        ...(s.http !== undefined ? { http: s.http } : {}),
      });
      printNotice(`coordinator listening on ${handle.address}${handle.httpAddress ? `; dashboard at http://${handle.httpAddress}/` : ""}`);
      signalReady({ address: handle.address, ...(handle.httpAddress ? { http: handle.httpAddress } : {}) });
      await waitForSignal();
      await handle.close();
    });
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
