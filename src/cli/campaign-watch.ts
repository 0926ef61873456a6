// Follows a campaign to its end (submit --wait, status --watch): polls Status,
// shows live bars per task on a terminal, or a progress line whenever the
// counts change when stderr is a pipe or a file.
import cliProgress from "cli-progress";
import { ErrorCode, isOrreryError } from "../common/errors.js";
import type { CampaignStatus } from "../gen/orrery/v1/coordinator_pb.js";
import { printNotice } from "./output.js";
import {
  campaignStatusToJson,
  done,
  isTerminalCampaignState,
  progressLine,
  taskBarDetail,
  total,
  type CampaignStatusJson,
} from "./status-view.js";

export interface ProgressView {
  show(status: CampaignStatusJson): void;
  stop(): void;
}

/** One line per change, for logs and CI where bars would be noise. */
export class LineProgressView implements ProgressView {
  private last = "";
  constructor(private readonly write: (line: string) => void = printNotice) {}

  show(status: CampaignStatusJson): void {
    const line = progressLine(status);
    if (line === this.last) return;
    this.last = line;
    this.write(line);
  }

  stop(): void {}
}

/** A bar for the whole campaign and one per task, redrawn in place on stderr. */
export class BarProgressView implements ProgressView {
  private readonly multi: cliProgress.MultiBar;
  private readonly bars = new Map<string, cliProgress.SingleBar>();

  constructor(stream: NodeJS.WritableStream = process.stderr) {
    this.multi = new cliProgress.MultiBar(
      {
        stream,
        format: "{name}  {bar}  {value}/{total}  {detail}",
        barsize: 30,
        hideCursor: true,
        clearOnComplete: false,
        autopadding: true,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  show(status: CampaignStatusJson): void {
    const width = Math.max(status.campaign.length, ...Object.keys(status.tasks).map((t) => t.length));
    this.update(status.campaign, width, status.counts, status.state);
    for (const [task, counts] of Object.entries(status.tasks)) this.update(`task:${task}`, width, counts, taskBarDetail(counts), task);
  }

  private update(key: string, width: number, counts: Record<string, number>, detail: string, label = key): void {
    const payload = { name: label.padEnd(width), detail };
    const bar = this.bars.get(key);
    if (bar === undefined) {
      this.bars.set(key, this.multi.create(Math.max(total(counts), 1), done(counts), payload));
      return;
    }
    bar.setTotal(Math.max(total(counts), 1));
    bar.update(done(counts), payload);
  }

  stop(): void {
    this.multi.stop();
  }
}

export function progressViewFor(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  return stream.isTTY ? new BarProgressView(stream) : new LineProgressView();
}

export interface FollowOptions {
  pollMs?: number;
  /** How long the coordinator may stay unreachable (e.g. while it restarts) before we give up. */
  unreachableMs?: number;
  view?: ProgressView;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the campaign reaches SUCCEEDED, FAILED or CANCELLED and returns that last status. */
export async function followCampaign(
  fetchStatus: () => Promise<CampaignStatus>,
  opts: FollowOptions = {},
): Promise<CampaignStatusJson> {
  const pollMs = opts.pollMs ?? 500;
  const unreachableMs = opts.unreachableMs ?? 60_000;
  const view = opts.view ?? progressViewFor();
  const onInterrupt = () => {
    view.stop();
    process.exit(130);
  };
  process.once("SIGINT", onInterrupt);
  let unreachableSince: number | undefined;
  try {
    for (;;) {
      let status: CampaignStatus;
      try {
        status = await fetchStatus();
        unreachableSince = undefined;
      } catch (err) {
        if (!isOrreryError(err, ErrorCode.UNAVAILABLE)) throw err;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > unreachableMs) throw err;
        await sleep(pollMs);
        continue;
      }
      const json = campaignStatusToJson(status);
      view.show(json);
      if (isTerminalCampaignState(json.state)) return json;
      await sleep(pollMs);
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    view.stop();
  }
}
