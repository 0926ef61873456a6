// A spot node learns of its reclaim from the cloud's instance metadata: the
// EC2-style `spot/instance-action` endpoint answers 404 until a notice is
// issued, then 200 with `{action, time}`. We poll it and stop taking work.
import { request } from "undici";
import type { Logger } from "../../common/logger.js";

export interface SpotNotice {
  action: string;
  time: string;
}

export interface SpotNoticeWatch {
  stop(): void;
}

export function watchSpotNotice(opts: {
  url: string;
  intervalMs?: number;
  log: Logger;
  onNotice: (notice: SpotNotice) => void;
}): SpotNoticeWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      const res = await request(opts.url, { method: "GET", headersTimeout: 2000, bodyTimeout: 2000 });
      const body = await res.body.text();
      if (res.statusCode === 200 && !stopped) {
        stopped = true;
        opts.onNotice(parseNotice(body));
        return;
      }
    } catch (err) {
      // The metadata service being briefly unreachable is not a notice.
      opts.log.debug({ err, url: opts.url }, "spot notice poll failed");
    }
    if (!stopped) timer = setTimeout(start, opts.intervalMs ?? 5000);
  };
  // poll() catches its own failures; a throw past that is a bug, and is logged rather than lost.
  const start = (): void => {
    poll().catch((err: unknown) => opts.log.error({ err }, "spot notice watch failed"));
  };
  start();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

function parseNotice(body: string): SpotNotice {
  try {
    const v = JSON.parse(body) as Partial<SpotNotice>;
    return { action: String(v.action ?? "terminate"), time: String(v.time ?? "") };
  } catch {
    return { action: "terminate", time: "" };
  }
}
