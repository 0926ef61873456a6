// The web dashboard in a real headless Chromium (Debian's chromium, driven by
// puppeteer-core; nothing downloaded): opened with the operator token in the
// URL's fragment while a campaign runs, it lists the campaign, its progress
// moves, it shows the agent and its site, and a screenshot is saved to
// docs/dashboard.png. Without the token it says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { dashboardUrl } from "../src/cli/local.js";
import { killCoordinator, tempDir } from "./harness.js";
import { connectNats } from "../src/common/nats.js";
import { natsAuthOf } from "../src/common/local/cluster-security.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

const CHROMIUM = process.env.ORRERY_CHROMIUM ?? "/usr/bin/chromium";
const DETECTORS = 12;
/** Two tasks over the detectors: calibrate, then measure on its output. */
const QUANTA = 2 * DETECTORS;
const CAMPAIGN = "dash-run";

function campaignYaml(): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${CAMPAIGN}
pipeline:
  tasks:
    calibrate:
      command: [/bin/sh, -c, 'sleep 0.5; cat "$0" > "$1"', "{inputs.raw}", "{outputs.calexp}"]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {calexp: {datasetType: calexp}}
    measure:
      command: [/bin/sh, -c, 'sleep 0.5; wc -c < "$0" > "$1"', "{inputs.calexp}", "{outputs.src}"]
      dimensions: [instrument, detector]
      inputs: {calexp: {datasetType: calexp}}
      outputs: {src: {datasetType: src}}
data: {scope: dash-test}
output: {scope: dash-test-out, run: ${CAMPAIGN}/run1}
`;
}

interface Progress {
  succeeded: number;
  total: number;
  state: string;
}

/** The campaign's progress as the page shows it, or undefined while it is not listed. */
async function progressOf(page: Page): Promise<Progress | undefined> {
  // Run in the page (this project's TypeScript has no DOM types: the page's code is a string here).
  const found = (await page.evaluate(`(() => {
    const el = document.querySelector('.campaign[data-campaign="${CAMPAIGN}"]');
    if (!el) return null;
    return { text: el.querySelector(".progress-text")?.textContent ?? "", succeeded: el.dataset.succeeded, state: el.dataset.state };
  })()`)) as { text: string; succeeded: string; state: string } | null;
  const m = found ? /^(\d+) \/ (\d+) succeeded$/.exec(found.text) : null;
  if (!found || !m || found.succeeded !== m[1]) return undefined;
  return { succeeded: Number(m[1]), total: Number(m[2]), state: found.state };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await probe();
    if (last !== undefined && ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last seen ${JSON.stringify(last)}`);
}

describe("the web dashboard in headless Chromium", () => {
  let dir: string;
  let cluster: ClusterFile;
  let browser: Browser;
  const clusterArgs = () => ["--cluster", join(dir, "cluster.json")];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (scripts/setup.sh does) or set $ORRERY_CHROMIUM`);
    dir = tempDir("dashboard");
    const [started, launched] = await Promise.all([
      startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT }),
      puppeteer.launch({
        executablePath: CHROMIUM,
        args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"],
      }),
    ]);
    cluster = started;
    browser = launched;
    const input = join(dir, "input");
    mkdirSync(input, { recursive: true });
    const lines: string[] = [];
    for (let d = 0; d < DETECTORS; d++) {
      writeFileSync(join(input, `raw_${d}.dat`), `detector ${d}\n`.repeat(1000));
      lines.push(JSON.stringify({ path: `raw_${d}.dat`, scope: "dash-test", datasetType: "raw", dataId: { instrument: "HSC", detector: d } }));
    }
    writeFileSync(join(input, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const ingest = await orreryJson<{ ingested: number }>([...clusterArgs(), "dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(input, "manifest.jsonl"), "--dataset", "dash-test:raws"]);
    expect(ingest.ingested).toBe(DETECTORS);
    // A rule, for the rules panel (its copies are already there: OK at once).
    await orreryJson([...clusterArgs(), "dbb", "rule", "add", "dash-test:raws", "--rse-expr", "site-a-disk"]);
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) {
      await stopCluster(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows a running campaign's progress moving, the agent at its site, and a screenshot", async () => {
    const url = dashboardUrl(cluster);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(url!, { waitUntil: "domcontentloaded" });
    // The token left the address bar (kept in sessionStorage).
    expect(page.url()).not.toContain("token=");

    const file = join(dir, "campaign.yaml");
    writeFileSync(file, campaignYaml());
    const submit = await orrery([...clusterArgs(), "submit", file]);
    expect(submit.code, submit.stderr).toBe(0);

    const first = await waitFor("the campaign listed with progress", () => progressOf(page), (p) => p.total === QUANTA && p.succeeded < QUANTA, 10_000);
    const moved = await waitFor("the progress to move", () => progressOf(page), (p) => p.succeeded > first.succeeded && p.succeeded < QUANTA, 15_000);
    expect(moved.succeeded).toBeGreaterThan(first.succeeded);

    // An event published on NATS reaches the page through /api/events (a marker task name: the coordinator's own events may come too).
    const nc = await connectNats(cluster.nats, "dashboard-test", natsAuthOf(cluster));
    try {
      await waitFor("the live event stream", () => page.$eval("#connection", (el) => el.getAttribute("data-state") ?? ""), (st) => st === "live", 5_000);
      nc.publish(`orrery.events.quantum.${CAMPAIGN}`, JSON.stringify({ kind: "quantum", campaign: CAMPAIGN, quantum: "probe-quantum", task: "probe-task", state: "RUNNING", ts: Date.now() }));
      await nc.flush();
      await waitFor("the event listed", () => page.$$eval("#events li", (items) => items.map((li) => li.textContent ?? "").join("\n")), (t) => t.includes("quantum dash-run probe-task probe-quantum RUNNING"), 5_000);
    } finally {
      await nc.close();
    }

    // The screenshot of the README: half way, both tasks on the way.
    await waitFor("half the quanta to succeed", () => progressOf(page), (p) => p.succeeded >= QUANTA / 2, 15_000);
    mkdirSync(join(REPO_ROOT, "docs"), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, "docs", "dashboard.png"), fullPage: true });

    // The agent, listed with its site.
    const agents = await page.$$eval("#agents tr[data-agent]", (rows) => rows.map((r) => ({ id: r.getAttribute("data-agent"), site: r.getAttribute("data-site"), text: r.textContent })));
    expect(agents).toHaveLength(1);
    expect(agents[0]!.site).toBe("site-a");
    expect(agents[0]!.text).toContain("site-a");

    const done = await waitFor("the campaign to succeed on the page", () => progressOf(page), (p) => p.state === "SUCCEEDED", 20_000);
    expect(done).toEqual({ succeeded: QUANTA, total: QUANTA, state: "SUCCEEDED" });
    // Quanta by state and the per-minute plot count every quantum; the connection is live, nothing is in the banner.
    await waitFor("the plot to count every quantum", () => page.$eval("#completed-plot", (el) => Number(el.getAttribute("data-total"))), (n) => n === QUANTA, 5_000);
    expect(await page.$eval('.state-tile[data-state="SUCCEEDED"] b', (el) => el.textContent)).toBe(String(QUANTA));
    expect(await page.$eval("#banner", (el) => el.hasAttribute("hidden"))).toBe(true);
    expect(await page.$$eval("#bytes-plot rect", (r) => r.length)).toBeGreaterThan(0);
    // The DBB's rule, in the rules panel.
    expect(await page.$$eval("#rules tr[data-rule]", (rows) => rows.map((r) => r.textContent ?? ""))).toEqual([expect.stringContaining("dash-test:raws")]);
    expect(errors).toEqual([]);
    await page.close();
  }, 40_000);

  it("says the operator token is needed when the page is opened without it", async () => {
    const page = await browser.newPage();
    await page.goto(`http://${cluster.http}/`, { waitUntil: "domcontentloaded" });
    const banner = await waitFor("the 401 message", () => page.$eval("#banner", (el) => (el.hasAttribute("hidden") ? undefined : el.textContent ?? "")), (t) => t !== "", 5_000);
    expect(banner).toBe("the operator token is needed: open the URL from `orrery local status`");
    expect(await page.$(".campaign")).toBeNull();
    await page.close();

    // The data routes themselves: refused without the token; the event stream is text/event-stream with the token.
    expect((await fetch(`http://${cluster.http}/api/overview`)).status).toBe(401);
    expect((await fetch(`http://${cluster.http}/api/events`)).status).toBe(401);
    const abort = new AbortController();
    const res = await fetch(`http://${cluster.http}/api/events`, { headers: { authorization: `Bearer ${cluster.security!.tokens.operator}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const first = await res.body!.getReader().read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^: /);
    abort.abort();
  }, 10_000);

  it("says it is disconnected and retrying when the coordinator goes away", async () => {
    const page = await browser.newPage();
    await page.goto(dashboardUrl(cluster)!, { waitUntil: "domcontentloaded" });
    await waitFor("the page to connect", () => page.$eval("#connection", (el) => el.getAttribute("data-state") ?? ""), (st) => st === "live" || st === "polling", 5_000);
    killCoordinator(cluster, dir);
    const banner = await waitFor("the disconnected message", () => page.$eval("#banner", (el) => (el.hasAttribute("hidden") ? undefined : el.textContent ?? "")), (t) => t !== "", 8_000);
    expect(banner).toMatch(/^disconnected, retrying/);
    expect(await page.$eval("#connection", (el) => el.textContent)).toBe("disconnected, retrying");
    await page.close();
  }, 15_000);
});
