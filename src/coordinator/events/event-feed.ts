// One subscription to `orrery.events.>` relayed to many followers (the
// `orrery events` streams, the dashboard's SSE), held while anyone follows. Each follower has its own
// bounded queue, delivered off the NATS callback; a follower whose sink stays
// full until its queue overflows is dropped, never waited for.
import type { OrreryEvent } from "../../common/orrery-events.js";
import { Subjects } from "../../common/subjects.js";

/** Receives one event (parsed, and its JSON as published). */
export type EventCallback = (event: OrreryEvent, json: string) => void;

export interface FollowOptions {
  /** Whether the follower's sink takes more now (e.g. `() => !stream.writableNeedDrain`); events wait in its queue meanwhile. */
  ready?: () => boolean;
  /** Called once when the follower is dropped ("slow": its queue overflowed) or the feed closes ("closed"). */
  onEnd?: (reason: "slow" | "closed") => void;
  /** Events a follower may have waiting before it is dropped (default DEFAULT_MAX_QUEUED). */
  maxQueued?: number;
}

export const DEFAULT_MAX_QUEUED = 1000;
/** How often a follower whose sink was full is looked at again (ms). */
const RETRY_MS = 50;
/** The largest event relayed (bytes of JSON); anything larger is not an event of ours. */
const MAX_EVENT_BYTES = 64 * 1024;
const KINDS = new Set(["campaign", "quantum", "ticket", "replica"]);

interface Follower {
  campaign: string | undefined;
  cb: EventCallback;
  ready: () => boolean;
  onEnd: ((reason: "slow" | "closed") => void) | undefined;
  max: number;
  queue: [OrreryEvent, string][];
  scheduled: boolean;
  timer: NodeJS.Timeout | undefined;
  gone: boolean;
}

/** What the feed subscribes with: a NATS connection's subscribe (or a test's). */
export interface EventSource {
  subscribe(subject: string, opts: { callback: (err: Error | null, msg: { subject: string; string(): string }) => void }): { unsubscribe(): void };
}

/**
 * An event from NATS, or undefined for anything that is not one (the message
 * is untrusted): a JSON object of a known kind whose campaign (or RSE) is the
 * subject's last token.
 */
export function parseEvent(subject: string, text: string): OrreryEvent | undefined {
  if (text.length > MAX_EVENT_BYTES) return undefined;
  const parts = subject.split(".");
  if (parts.length !== 4 || parts[0] !== "orrery" || parts[1] !== "events" || !KINDS.has(parts[2]!)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  if (e["kind"] !== parts[2] || typeof e["state"] !== "string") return undefined;
  const owner = e["kind"] === "replica" ? e["rse"] : e["campaign"];
  return owner === parts[3] ? (v as OrreryEvent) : undefined;
}

export class EventFeed {
  private readonly followers = new Set<Follower>();
  private subscription: { unsubscribe(): void } | undefined;
  private started = false;

  constructor(private readonly source: EventSource) {}

  /**
   * Subscribes to every event (once) while anyone follows: with no follower the
   * coordinator does not hear its own events back.
   */
  start(): this {
    this.started = true;
    if (this.followers.size > 0) this.subscribe();
    return this;
  }

  private subscribe(): void {
    this.subscription ??= this.source.subscribe(Subjects.events, {
      callback: (err, msg) => {
        if (!err && this.followers.size > 0) this.publish(msg.subject, msg.string());
      },
    });
  }

  /** How many follow now. */
  get size(): number {
    return this.followers.size;
  }

  /** Relays one message as received on `subject` to the followers it concerns. */
  publish(subject: string, text: string): void {
    if (this.followers.size === 0) return;
    const event = parseEvent(subject, text);
    if (!event) return;
    const campaign = event.kind === "replica" ? undefined : event.campaign;
    for (const f of this.followers) {
      if (f.campaign !== undefined && f.campaign !== campaign) continue;
      if (f.queue.length >= f.max) {
        this.end(f, "slow");
        continue;
      }
      f.queue.push([event, text]);
      this.schedule(f);
    }
  }

  /**
   * Follows every event (campaign undefined: replica events too) or one
   * campaign's (its campaign, quantum and ticket events), in the order NATS
   * delivers them. Returns the unsubscribe.
   */
  follow(campaign: string | undefined, cb: EventCallback, opts: FollowOptions = {}): () => void {
    const f: Follower = { campaign, cb, ready: opts.ready ?? (() => true), onEnd: opts.onEnd, max: opts.maxQueued ?? DEFAULT_MAX_QUEUED, queue: [], scheduled: false, timer: undefined, gone: false };
    this.followers.add(f);
    if (this.started) this.subscribe();
    return () => this.remove(f);
  }

  /** Ends every follower ("closed") and the subscription. */
  close(): void {
    this.started = false;
    for (const f of [...this.followers]) this.end(f, "closed");
    this.unsubscribe();
  }

  private unsubscribe(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private schedule(f: Follower): void {
    if (f.scheduled || f.timer) return;
    f.scheduled = true;
    setImmediate(() => {
      f.scheduled = false;
      this.drain(f);
    });
  }

  private drain(f: Follower): void {
    while (!f.gone && f.queue.length > 0) {
      if (!f.ready()) {
        f.timer ??= setTimeout(() => {
          f.timer = undefined;
          this.drain(f);
        }, RETRY_MS);
        return;
      }
      const [event, json] = f.queue.shift()!;
      try {
        f.cb(event, json);
      } catch {
        // A follower's failure is its own: it is ended (its stream told), the others go on.
        this.end(f, "closed");
      }
    }
  }

  private end(f: Follower, reason: "slow" | "closed"): void {
    if (f.gone) return;
    this.remove(f);
    f.onEnd?.(reason);
  }

  private remove(f: Follower): void {
    f.gone = true;
    f.queue = [];
    if (f.timer) clearTimeout(f.timer);
    f.timer = undefined;
    this.followers.delete(f);
    if (this.followers.size === 0) this.unsubscribe();
  }
}
