// `orrery report CAMPAIGN`: what a campaign's attempts cost and moved, per
// task and the site that ran them, and in total.
import type { Command } from "commander";
import type { ReportFigures, ReportResponse } from "../gen/orrery/v1/coordinator_pb.js";
import { campaignStates } from "../common/wire-enums.js";
import { withCampaignClient } from "./coordinator-client.js";
import { globalOptions } from "./global-options.js";
import { printJson, printLine, printTable, type Column } from "./output.js";

/** One task at one site (or the totals). Times in exact milliseconds and in hours; bytes exact. */
export interface ReportFiguresJson {
  /** Distinct quanta with an attempt at this site (in totals: summed over sites, see `distinctQuanta`). */
  quanta: number;
  /** Quanta that succeeded at this site. */
  succeeded: number;
  /** Every attempt, ended or running: the sum of `outcomes`. */
  attempts: number;
  /** Attempts by outcome, named as `orrery quanta --json` names them; `running` for those not ended. */
  outcomes: Record<string, number>;
  cpuMs: number;
  wallMs: number;
  cpuHours: number;
  wallHours: number;
  peakRssBytes: number;
  bytesIn: { cache: number; ownSite: number; otherSite: number };
  bytesOut: number;
}

/** CONTRACT: `{campaign, tasks:{T:{SITE:{…}}}, totals:{…}}`. */
export interface CampaignReportJson {
  campaign: string;
  state: string;
  tasks: Record<string, Record<string, ReportFiguresJson>>;
  totals: ReportFiguresJson & { distinctQuanta: number };
}

const HOUR_MS = 3_600_000;

function figuresJson(f: ReportFigures | undefined): ReportFiguresJson {
  const outcomes = Object.fromEntries(Object.entries(f?.outcomes ?? {}).map(([o, n]) => [o, Number(n)]));
  const cpuMs = Number(f?.cpuMs ?? 0n);
  const wallMs = Number(f?.wallMs ?? 0n);
  return {
    quanta: Number(f?.quanta ?? 0n),
    succeeded: Number(f?.succeededQuanta ?? 0n),
    attempts: Object.values(outcomes).reduce((s, n) => s + n, 0),
    outcomes,
    cpuMs,
    wallMs,
    cpuHours: cpuMs / HOUR_MS,
    wallHours: wallMs / HOUR_MS,
    peakRssBytes: Number(f?.peakRssBytes ?? 0n),
    bytesIn: { cache: Number(f?.cacheBytes ?? 0n), ownSite: Number(f?.ownSiteBytes ?? 0n), otherSite: Number(f?.otherSiteBytes ?? 0n) },
    bytesOut: Number(f?.outBytes ?? 0n),
  };
}

export function reportToJson(res: ReportResponse): CampaignReportJson {
  const tasks: CampaignReportJson["tasks"] = {};
  for (const cell of res.cells) (tasks[cell.task] ??= {})[cell.site] = figuresJson(cell.figures);
  return {
    campaign: res.campaign,
    state: campaignStates.name(res.state) ?? "UNSPECIFIED",
    tasks,
    totals: { ...figuresJson(res.totals), distinctQuanta: Number(res.distinctQuanta) },
  };
}

/** Attempts that ended killed: the node was reclaimed or lost, or the operator cancelled. */
const KILLED = new Set(["preempted", "lost", "cancelled"]);

export function outcomeGroups(outcomes: Record<string, number>): { ok: number; failed: number; killed: number; running: number } {
  const g = { ok: 0, failed: 0, killed: 0, running: 0 };
  for (const [o, n] of Object.entries(outcomes)) {
    if (o === "succeeded") g.ok += n;
    else if (o === "running") g.running += n;
    else if (KILLED.has(o)) g.killed += n;
    else g.failed += n;
  }
  return g;
}

interface Row {
  task: string;
  site: string;
  f: ReportFiguresJson;
}

const hours = (h: number) => h.toFixed(h >= 10 ? 1 : 3);
/** MB with as many decimals as small figures need to show (a test campaign moves kilobytes). */
const mb = (bytes: number) => (bytes === 0 ? "0" : (bytes / 1e6).toFixed(bytes >= 1e8 ? 0 : bytes >= 1e6 ? 1 : 3));

/** The table people read: one line per task and site, then the totals. */
export function reportRows(r: CampaignReportJson): Row[] {
  const rows: Row[] = [];
  for (const [task, sites] of Object.entries(r.tasks)) for (const [site, f] of Object.entries(sites)) rows.push({ task, site, f });
  return rows;
}

function printReport(r: CampaignReportJson): void {
  const rows = reportRows(r);
  if (rows.length === 0) {
    printLine(`campaign ${r.campaign} (${r.state}): no attempts yet`);
    return;
  }
  const anyRunning = outcomeGroups(r.totals.outcomes).running > 0;
  const columns: Column<Row>[] = [
    { header: "TASK", value: (x) => x.task },
    { header: "SITE", value: (x) => x.site },
    { header: "QUANTA", value: (x) => x.f.quanta, align: "right" },
    { header: "OK", value: (x) => outcomeGroups(x.f.outcomes).ok, align: "right" },
    { header: "FAILED", value: (x) => outcomeGroups(x.f.outcomes).failed, align: "right" },
    { header: "KILLED", value: (x) => outcomeGroups(x.f.outcomes).killed, align: "right" },
    ...(anyRunning ? [{ header: "RUNNING", value: (x: Row) => outcomeGroups(x.f.outcomes).running, align: "right" as const }] : []),
    { header: "CPU_H", value: (x) => hours(x.f.cpuHours), align: "right" },
    { header: "WALL_H", value: (x) => hours(x.f.wallHours), align: "right" },
    { header: "PEAK_MB", value: (x) => mb(x.f.peakRssBytes), align: "right" },
    { header: "IN_CACHE_MB", value: (x) => mb(x.f.bytesIn.cache), align: "right" },
    { header: "IN_OWN_MB", value: (x) => mb(x.f.bytesIn.ownSite), align: "right" },
    { header: "IN_OTHER_MB", value: (x) => mb(x.f.bytesIn.otherSite), align: "right" },
    { header: "OUT_MB", value: (x) => mb(x.f.bytesOut), align: "right" },
  ];
  printLine(`campaign ${r.campaign} (${r.state})`);
  printTable([...rows, { task: "total", site: "", f: r.totals }], columns);
  const t = r.totals;
  printLine(`${t.attempts} attempts on ${t.distinctQuanta} quanta (${t.succeeded} succeeded); killed attempts are preempted, lost or cancelled`);
}

export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .description("accounting per task and site: quanta, attempts by outcome, CPU and wall hours, peak memory, bytes in (cache, own site, other sites) and out")
    .argument("<campaign>", "campaign name")
    .addHelpText(
      "after",
      "\nFigures are per task and the site that ran each attempt, with a totals line (peak memory: the largest).\n" +
        "QUANTA counts a quantum once per site it had an attempt at; `--json` totals.distinctQuanta counts it once.\n" +
        "Bytes in come from each attempt's provenance record: read from the agent's cache, staged from an RSE of\n" +
        "its own site, or from another site's; bytes out are the outputs of attempts that succeeded. Lost and\n" +
        "cancelled attempts have no record: they count with their wall time only. RUNNING shows while any runs.\n" +
        "Per node kind (spot pre-emption, lost CPU) see `orrery status CAMPAIGN --json` (nodeKinds).",
    )
    .action(async (campaign: string, _opts: unknown, cmd: Command) => {
      const res = await withCampaignClient(cmd, (client) => client.report({ campaign }));
      const report = reportToJson(res);
      if (globalOptions(cmd).json === true) printJson(report);
      else printReport(report);
    });
}
