// `orrery events [--campaign C] [--until-done]`: follows the events the
// coordinator relays from NATS (orrery.events.…), one JSON object a line, each
// line written as it comes. Ends quietly on Ctrl-C or when its reader goes
// away; exits 3 when the coordinator does.
import type { Command } from "commander";
import type * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { CampaignService, FollowEventsRequestSchema, type EventMessage } from "../gen/orrery/v1/coordinator_pb.js";
import { createUnaryClient, waitForChannel } from "../common/grpc-service.js";
import { callMetadata } from "../common/grpc-security.js";
import { ErrorCode, OrreryError, fromGrpcError } from "../common/errors.js";
import { resolveConnection } from "./connection.js";
import { globalOptions } from "./global-options.js";

const CONNECT_TIMEOUT_MS = 3_000;
const GRPC_CANCELLED = 1;
const ENDED = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

interface EventsOptions {
  campaign?: string;
  untilDone?: boolean;
}

/** Whether a line is the followed campaign's event of an ended state. */
export function endsCampaign(json: string, campaign: string): boolean {
  try {
    const e = JSON.parse(json) as { kind?: unknown; campaign?: unknown; state?: unknown };
    return e.kind === "campaign" && e.campaign === campaign && typeof e.state === "string" && ENDED.has(e.state);
  } catch {
    return false;
  }
}

export function registerEventsCommand(program: Command): void {
  program
    .command("events")
    .description("follow campaign, quantum, ticket and replica events as they happen, one JSON object a line")
    .option("--campaign <name>", "only this campaign's events (campaign, quantum and ticket; no replica events)")
    .option("--until-done", "exit 0 once the campaign of --campaign reaches SUCCEEDED, FAILED or CANCELLED (an event of that state; a campaign that ended before is waited for until it is submitted again and ends)")
    .addHelpText(
      "after",
      "\nEach line is one event as published on NATS after the change was stored:\n" +
        '  {"kind":"campaign","campaign","state","ts"}  (a submit adds "submitted":true and "counts")\n' +
        '  {"kind":"quantum","campaign","quantum","task","state","ts","attempt","site","agent","outcome"}\n' +
        '  {"kind":"ticket","campaign","quantum","task","state":"open"|"closed","outcome","ts"}\n' +
        '  {"kind":"replica","did","rse","state","ts"}  (without --campaign)\n' +
        "ts is ms since the epoch. The output is JSON lines with or without --json. It follows until Ctrl-C or\n" +
        "its reader closes (exit 0), or --until-done sees the campaign end (exit 0); exit 3 if the coordinator\n" +
        "cannot be reached or goes away. Needs only the coordinator ($ORRERY_COORDINATOR or the cluster file).",
    )
    .action(async (opts: EventsOptions, cmd: Command) => {
      if (opts.untilDone && opts.campaign === undefined) {
        throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "--until-done needs --campaign: it waits for that campaign to end", { hint: "add --campaign NAME, or leave --until-done out to follow until Ctrl-C" });
      }
      await follow(cmd, opts);
    });
}

async function follow(cmd: Command, opts: EventsOptions): Promise<void> {
  const { coordinator, security } = resolveConnection({ cluster: globalOptions(cmd).cluster, need: "coordinator" });
  const client = createUnaryClient(CampaignService, coordinator, undefined, security);
  try {
    await waitForChannel(client.raw, coordinator, CONNECT_TIMEOUT_MS);
    const raw = client.raw as unknown as Record<string, (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<EventMessage>>;
    const stream = raw["followEvents"]!.call(client.raw, create(FollowEventsRequestSchema, { campaign: opts.campaign ?? "" }), callMetadata(security));
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        process.off("SIGINT", quit);
        process.off("SIGTERM", quit);
        process.stdout.off("error", closed);
        stream.cancel();
        if (err) reject(err);
        else resolve();
      };
      const quit = () => finish();
      // The reader went away (`| head`): nothing more to say, quietly.
      const closed = () => finish();
      process.once("SIGINT", quit);
      process.once("SIGTERM", quit);
      process.stdout.on("error", closed);
      stream.on("data", (msg: EventMessage) => {
        if (done) return;
        // A slow reader holds the stream back (the coordinator drops a follower that falls too far behind), never this process's memory.
        if (!process.stdout.write(`${msg.json}\n`)) {
          stream.pause();
          process.stdout.once("drain", () => stream.resume());
        }
        if (opts.untilDone && endsCampaign(msg.json, opts.campaign!)) finish();
      });
      stream.on("error", (err: Error & { code?: number }) => {
        if (err.code === GRPC_CANCELLED && done) return;
        const e = fromGrpcError(err, coordinator);
        finish(e.code === ErrorCode.UNAVAILABLE ? new OrreryError(ErrorCode.UNAVAILABLE, `lost the coordinator at ${coordinator}: ${e.message}`, { cause: err, hint: e.hint ?? "see `orrery local status`; follow again once it is back" }) : e);
      });
      stream.on("end", () =>
        finish(new OrreryError(ErrorCode.UNAVAILABLE, `the coordinator at ${coordinator} ended the event stream`, { hint: "see `orrery local status`; follow again once it is back" })),
      );
    });
  } finally {
    client.close();
  }
}
