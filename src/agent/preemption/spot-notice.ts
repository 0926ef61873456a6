// A spot node learns of its reclaim from the cloud's instance metadata: the
// EC2-style `spot/instance-action` endpoint answers 404 until a notice is
// issued, then 200 with `{action, time}`. We poll it and stop taking work.
// IMDSv2: each GET carries a session token got with a PUT to
// `latest/api/token`; a 401 (expired, or the service restarted) gets a new
// one. A service without tokens (IMDSv1 only) is polled without.
import { request } from "undici";
import type { Logger } from "../../common/logger.js";

export interface SpotNotice {
  action: string;
  time: string;
}

export interface SpotNoticeWatch {
  stop(): void;
}

const TOKEN_TTL_S = 21_600;
/** A token this close to its end is renewed before use. */
const TOKEN_MARGIN_MS = 60_000;
const TIMEOUTS = { headersTimeout: 2000, bodyTimeout: 2000 };

/** Where IMDSv2 hands out tokens, relative to the instance-action URL (`<base>/latest/api/token`). */
export function tokenUrlOf(noticeUrl: string): string {
  return new URL("../../api/token", noticeUrl).toString();
}

export function watchSpotNotice(opts: { url: string; intervalMs?: number; log: Logger; onNotice: (notice: SpotNotice) => void }): SpotNoticeWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // undefined: none yet; null: the service has no tokens (IMDSv1).
  let token: { value: string; expiresMs: number } | null | undefined;
  const tokenUrl = tokenUrlOf(opts.url);

  const fetchToken = async (): Promise<void> => {
    const res = await request(tokenUrl, { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": String(TOKEN_TTL_S) }, ...TIMEOUTS });
    const body = await res.body.text();
    if (res.statusCode === 200) token = { value: body.trim(), expiresMs: Date.now() + TOKEN_TTL_S * 1000 };
    // As AWS SDKs do: these mean a service that does not hand out tokens.
    else if (res.statusCode === 403 || res.statusCode === 404 || res.statusCode === 405) token = null;
    else throw new Error(`token request answered ${res.statusCode}`);
  };

  const poll = async () => {
    try {
      const fresh = token === undefined || (token !== null && token.expiresMs - TOKEN_MARGIN_MS < Date.now());
      if (fresh) await fetchToken();
      const headers: Record<string, string> = token ? { "x-aws-ec2-metadata-token": token.value } : {};
      const res = await request(opts.url, { method: "GET", headers, ...TIMEOUTS });
      const body = await res.body.text();
      if (res.statusCode === 200 && !stopped) {
        stopped = true;
        opts.onNotice(parseNotice(body));
        return;
      }
      if (res.statusCode === 401) {
        token = undefined;
        // The service forgot an old token (it restarted): ask again at once; a new one refused waits its turn.
        if (!fresh && !stopped) {
          timer = setTimeout(start, 0);
          return;
        }
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
