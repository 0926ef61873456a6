import { describe, expect, it } from "vitest";
import { EventFeed, parseEvent, type EventSource } from "./event-feed.js";
import type { OrreryEvent } from "../../common/orrery-events.js";
import { followedCampaign } from "./follow-events.js";

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function source(): EventSource & { send(subject: string, body: unknown): void; subscribed: string[] } {
  let cb: ((err: Error | null, msg: { subject: string; string(): string }) => void) | undefined;
  const subscribed: string[] = [];
  return {
    subscribed,
    subscribe(subject, opts) {
      subscribed.push(subject);
      cb = opts.callback;
      return { unsubscribe: () => (cb = undefined) };
    },
    send(subject, body) {
      cb?.(null, { subject, string: () => (typeof body === "string" ? body : JSON.stringify(body)) });
    },
  };
}

const campaignEvent = (campaign: string, state: string) => ({ kind: "campaign", campaign, state, ts: 1 });

describe("EventFeed", () => {
  it("subscribes once to orrery.events.> and gives each follower its campaign's events, in order", async () => {
    const src = source();
    const feed = new EventFeed(src).start().start();
    // Nobody follows: nothing is heard.
    expect(src.subscribed).toEqual([]);
    const a: OrreryEvent[] = [];
    const all: OrreryEvent[] = [];
    feed.follow("a", (e) => a.push(e));
    const stopAll = feed.follow(undefined, (e) => all.push(e));
    expect(src.subscribed).toEqual(["orrery.events.>"]);
    src.send("orrery.events.campaign.a", campaignEvent("a", "RUNNING"));
    src.send("orrery.events.quantum.b", { kind: "quantum", campaign: "b", quantum: "b.t.0", task: "t", state: "RUNNING", ts: 2 });
    src.send("orrery.events.replica.site-a-disk", { kind: "replica", did: "s:f", rse: "site-a-disk", state: "AVAILABLE", ts: 3 });
    src.send("orrery.events.campaign.a", campaignEvent("a", "SUCCEEDED"));
    await tick();
    expect(a.map((e) => e.state)).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(all.map((e) => e.kind)).toEqual(["campaign", "quantum", "replica", "campaign"]);
    stopAll();
    src.send("orrery.events.campaign.a", campaignEvent("a", "PAUSED"));
    await tick();
    expect(a.map((e) => e.state)).toEqual(["RUNNING", "SUCCEEDED", "PAUSED"]);
    expect(all).toHaveLength(4);
  });

  it("relays nothing that is not an event of its subject", () => {
    expect(parseEvent("orrery.events.campaign.a", "not json")).toBeUndefined();
    expect(parseEvent("orrery.events.campaign.a", JSON.stringify(campaignEvent("b", "RUNNING")))).toBeUndefined();
    expect(parseEvent("orrery.events.quantum.a", JSON.stringify(campaignEvent("a", "RUNNING")))).toBeUndefined();
    expect(parseEvent("orrery.events.campaign.a", "[1]")).toBeUndefined();
    expect(parseEvent("orrery.events.other.a", JSON.stringify({ ...campaignEvent("a", "RUNNING"), kind: "other" }))).toBeUndefined();
    expect(parseEvent("orrery.events.campaign.a", JSON.stringify(campaignEvent("a", "RUNNING")))).toMatchObject({ campaign: "a", state: "RUNNING" });
  });

  it("drops a follower whose sink stays full past its queue, and goes on serving the others", async () => {
    const src = source();
    const feed = new EventFeed(src).start();
    let full = true;
    const slow: OrreryEvent[] = [];
    const fast: OrreryEvent[] = [];
    const ended: string[] = [];
    feed.follow("a", (e) => slow.push(e), { ready: () => !full, maxQueued: 3, onEnd: (r) => ended.push(r) });
    feed.follow("a", (e) => fast.push(e));
    for (let i = 0; i < 3; i++) src.send("orrery.events.campaign.a", campaignEvent("a", `S${i}`));
    await tick();
    expect(slow).toEqual([]);
    expect(fast).toHaveLength(3);
    // Its sink takes events again: the queue is delivered.
    full = false;
    await sleep(80);
    expect(slow.map((e) => e.state)).toEqual(["S0", "S1", "S2"]);
    full = true;
    for (let i = 3; i < 7; i++) src.send("orrery.events.campaign.a", campaignEvent("a", `S${i}`));
    expect(ended).toEqual(["slow"]);
    expect(feed.size).toBe(1);
    full = false;
    await sleep(80);
    expect(slow).toHaveLength(3);
    expect(fast).toHaveLength(7);
  });

  it("stops delivering once unsubscribed, and ends every follower when closed", async () => {
    const src = source();
    const feed = new EventFeed(src).start();
    const got: OrreryEvent[] = [];
    const stop = feed.follow(undefined, (e) => got.push(e));
    const ended: string[] = [];
    feed.follow(undefined, () => {}, { onEnd: (r) => ended.push(r) });
    src.send("orrery.events.campaign.a", campaignEvent("a", "RUNNING"));
    stop();
    await tick();
    expect(got).toEqual([]);
    feed.close();
    expect(ended).toEqual(["closed"]);
    expect(feed.size).toBe(0);
  });
});

describe("FollowEvents' request", () => {
  it("takes every campaign or one named as campaigns are, and refuses anything else naming the field", () => {
    expect(followedCampaign({ campaign: "" })).toBeUndefined();
    expect(followedCampaign({ campaign: "hsc-run-2" })).toBe("hsc-run-2");
    for (const bad of ["Not_A.Name", "a.>", "*", "-a", "a".repeat(64)]) {
      expect(() => followedCampaign({ campaign: bad })).toThrow(/^campaign .*not a campaign name/);
    }
  });
});
