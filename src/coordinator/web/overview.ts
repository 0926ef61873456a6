// /api/overview: one JSON snapshot of what the dashboard shows. Campaigns come
// from the manager's memory; rules from the DBB, cached and refreshed in the
// background so a slow or absent DBB never slows the page.
import type { ServerResponse } from "node:http";
import { sendJson } from "../../common/http-server.js";
import type { CampaignStatusView } from "../workload/index.js";
import type { MinuteBucket } from "./throughput.js";

export interface AgentSummary {
  id: string;
  site: string;
  kind: string;
  cores: number;
  freeCores: number;
  running: number;
  cacheBytes: number;
  memoryMB: number;
  batchJob: string;
}

/** The rule fields the page shows (a DBB Rule has these and more). */
export interface RuleSummary {
  id: string;
  did: string;
  rseExpression: string;
  copies: number;
  state: string;
  locksOk: number;
  locksReplicating: number;
  locksStuck: number;
  createdAt: string;
}

/** One page of the DBB's rule list. */
export interface RulePage {
  rules: RuleSummary[];
  /** The DBB has more rules than the page. */
  more: boolean;
}

export interface RulesView {
  /** Whether the DBB answered (on the last try). */
  available: boolean;
  error?: string;
  /** Rules fetched; `more`: the DBB has others too. */
  total: number;
  more: boolean;
  /** The newest rules, at most RULES_SHOWN. */
  rules: RuleSummary[];
  fetchedMs: number;
}

export const RULES_SHOWN = 50;
const RULES_FRESH_MS = 10_000;

type Counts = Record<string, number>;

export interface CampaignOverview {
  campaign: string;
  state: string;
  priority: number;
  total: number;
  counts: Counts;
  tasks: { task: string; total: number; counts: Counts }[];
  failures: number;
  createdMs: number;
  finishedMs: number;
}

export interface Overview {
  now: number;
  campaigns: CampaignOverview[];
  /** Quanta of every campaign by state. */
  quanta: Counts;
  agents: AgentSummary[];
  throughput: MinuteBucket[];
  rules: RulesView;
  tickets: unknown[];
}

export interface OverviewSources {
  campaigns: () => Promise<CampaignStatusView[]>;
  agents: () => AgentSummary[];
  throughput: () => MinuteBucket[];
  /** The DBB's rules; absent: no DBB to ask. */
  rules?: () => Promise<RulePage>;
  /** Open and recent tickets, when the coordinator keeps them. */
  tickets?: () => Promise<unknown[]>;
}

const countsOf = (pairs: [string, number][]): Counts => Object.fromEntries(pairs);
const sum = (pairs: [string, number][]): number => pairs.reduce((n, [, c]) => n + c, 0);

export function campaignOverview(v: CampaignStatusView): CampaignOverview {
  return {
    campaign: v.campaign,
    state: v.state,
    priority: v.priority,
    total: sum(v.counts),
    counts: countsOf(v.counts),
    tasks: v.tasks.map((t) => ({ task: t.task, total: sum(t.counts), counts: countsOf(t.counts) })),
    failures: v.failures,
    createdMs: v.createdMs,
    finishedMs: v.finishedMs,
  };
}

/** The DBB's rule list, newest first and bounded, refreshed at most every few seconds and never awaited by a request. */
class RuleCache {
  private view: RulesView = { available: false, total: 0, more: false, rules: [], fetchedMs: 0 };
  private pending: Promise<void> | undefined;

  constructor(private readonly fetch: () => Promise<RulePage>) {}

  /** The latest view; starts a refresh when it is stale. The first call waits for the DBB (bounded by its client's timeout). */
  async get(): Promise<RulesView> {
    if (Date.now() - this.view.fetchedMs > RULES_FRESH_MS && this.pending === undefined) {
      this.pending = this.refresh().finally(() => (this.pending = undefined));
      if (this.view.fetchedMs === 0) await this.pending;
    }
    return this.view;
  }

  private async refresh(): Promise<void> {
    try {
      const { rules, more } = await this.fetch();
      const newest = [...rules].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, RULES_SHOWN);
      this.view = { available: true, total: rules.length, more, rules: newest, fetchedMs: Date.now() };
    } catch (err) {
      this.view = { ...this.view, available: false, error: `the DBB did not answer: ${(err as Error).message}`, fetchedMs: Date.now() };
    }
  }
}

/** How long one snapshot serves every page that asks (each one asks the manager's mailbox for every campaign and ticket). */
const SNAPSHOT_MS = 500;

export function overviewHandler(sources: OverviewSources): (res: ServerResponse) => Promise<void> {
  const rules = sources.rules ? new RuleCache(sources.rules) : undefined;
  let last: { at: number; body: Promise<Overview> } | undefined;
  return async (res) => {
    const now = Date.now();
    if (last === undefined || now - last.at > SNAPSHOT_MS) last = { at: now, body: snapshot(sources, rules) };
    const body = last.body;
    try {
      sendJson(res, 200, await body);
    } catch (err) {
      if (last?.body === body) last = undefined;
      throw err;
    }
  };
}

async function snapshot(sources: OverviewSources, rules: RuleCache | undefined): Promise<Overview> {
  const [views, rulesView, tickets] = await Promise.all([
    sources.campaigns(),
    rules?.get() ?? Promise.resolve<RulesView>({ available: false, error: "no DBB is connected", total: 0, more: false, rules: [], fetchedMs: 0 }),
    sources.tickets?.().catch(() => []) ?? Promise.resolve([]),
  ]);
  const campaigns = views.map(campaignOverview);
  const quanta: Counts = {};
  for (const c of campaigns) for (const [state, n] of Object.entries(c.counts)) quanta[state] = (quanta[state] ?? 0) + n;
  return { now: Date.now(), campaigns, quanta, agents: sources.agents(), throughput: sources.throughput(), rules: rulesView, tickets };
}
