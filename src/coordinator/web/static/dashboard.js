// @ts-check
// The Orrery dashboard's browser module. It polls /api/overview every 2 s and
// follows /api/events (Server-Sent Events read with fetch, so the operator
// token goes in a header), refreshing at once when an event arrives. The token
// comes in the URL's fragment (#token=…), is kept in sessionStorage and is
// removed from the address bar. Everything shown is built with DOM calls:
// no server text is ever parsed as HTML.

const POLL_MS = 2000;
const RETRY_MS = 2000;
const EVENTS_SHOWN = 30;
const STATES = ["SUCCEEDED", "RUNNING", "READY", "PENDING", "FAILED", "BLOCKED", "CANCELLED", "SKIPPED"];
const SITE_COLOURS = ["#2f7fd8", "#2e9e5b", "#e39a3b", "#9b59b6", "#d64545", "#16a085", "#7f8c8d", "#c0392b"];
const SVG = "http://www.w3.org/2000/svg";

/** @returns {string | null} */
function takeToken() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    const token = decodeURIComponent(m[1] ?? "");
    sessionStorage.setItem("orrery.token", token);
    history.replaceState(null, "", location.pathname + location.search);
    return token;
  }
  return sessionStorage.getItem("orrery.token");
}

const token = takeToken();
/** @type {Record<string, string>} */
const headers = token ? { authorization: `Bearer ${token}` } : {};

/**
 * A DOM element with attributes and children (text children become text nodes).
 * @param {string} tag @param {Record<string, string | number>} [attrs] @param {...(Node | string | number | null | undefined)} children
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(typeof c === "object" ? c : String(c));
  return el;
}

/** @param {string} tag @param {Record<string, string | number>} attrs */
function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {number} n */
function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** @param {string} state */
const colour = (state) => `var(--${state}, #999)`;

/** @param {"connecting" | "live" | "polling" | "disconnected" | "unauthorized"} state @param {string} text */
function connection(state, text) {
  const el = $("connection");
  el.dataset.state = state;
  el.textContent = text;
}

/** @param {string | null} message @param {string} [code] */
function banner(message, code) {
  const el = $("banner");
  el.hidden = message === null;
  el.replaceChildren();
  if (message === null) return;
  const [before, after] = code ? message.split(code) : [message, ""];
  el.append(before ?? "", ...(code ? [h("code", {}, code), after ?? ""] : []));
}

/** A stacked bar of counts by state. @param {Record<string, number>} counts @param {number} total @param {string} [cls] */
function stateBar(counts, total, cls = "bar") {
  const bar = h("div", { class: cls, role: "img", "aria-label": STATES.filter((st) => counts[st]).map((st) => `${counts[st]} ${st}`).join(", ") });
  for (const st of STATES) {
    const n = counts[st] ?? 0;
    if (n === 0 || total === 0) continue;
    const seg = h("span", { title: `${st}: ${n}`, "data-state": st });
    seg.style.width = `${(100 * n) / total}%`;
    seg.style.background = colour(st);
    bar.append(seg);
  }
  return bar;
}

function legend() {
  return h("div", { class: "legend" }, ...STATES.map((st) => {
    const i = h("i");
    i.style.background = colour(st);
    return h("span", {}, i, st.toLowerCase());
  }));
}

/** @param {any[]} campaigns */
function renderCampaigns(campaigns) {
  const root = $("campaigns");
  if (campaigns.length === 0) return root.replaceChildren(h("p", { class: "muted" }, "No campaigns yet."));
  const items = [...campaigns].reverse().map((c) => {
    const done = c.counts.SUCCEEDED ?? 0;
    const head = h("div", { class: "campaign-head" },
      h("span", { class: "campaign-name" }, c.campaign),
      h("span", { class: "state", "data-state": c.state }, c.state),
      h("span", { class: "progress-text" }, `${done} / ${c.total} succeeded`),
      c.failures ? h("span", { class: "muted" }, `${c.failures} failed attempts`) : null,
      h("span", { class: "muted" }, `priority ${c.priority}`),
    );
    const tasks = h("div", { class: "tasks" });
    for (const t of c.tasks) tasks.append(h("span", {}, t.task), stateBar(t.counts, t.total, "bar small"), h("span", { class: "task-count" }, `${t.counts.SUCCEEDED ?? 0} / ${t.total}`));
    return h("div", { class: "campaign", "data-campaign": c.campaign, "data-state": c.state, "data-succeeded": done, "data-total": c.total }, head, stateBar(c.counts, c.total), tasks);
  });
  root.replaceChildren(...items, legend());
}

/** @param {Record<string, number>} quanta */
function renderQuanta(quanta) {
  $("quanta").replaceChildren(h("div", { class: "states" }, ...STATES.map((st) => {
    const tile = h("div", { class: "state-tile", "data-state": st }, h("b", {}, quanta[st] ?? 0), h("small", {}, st.toLowerCase()));
    tile.style.borderLeftColor = colour(st);
    return tile;
  })));
}

/** @param {any[]} agents */
function renderAgents(agents) {
  const root = $("agents");
  if (agents.length === 0) return root.replaceChildren(h("p", { class: "muted" }, "No agents connected."));
  const sorted = [...agents].sort((a, b) => a.site.localeCompare(b.site) || a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
  root.replaceChildren(h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "site"), h("th", {}, "kind"), h("th", {}, "agent"), h("th", { class: "num" }, "cores busy"), h("th", { class: "num" }, "leases"), h("th", { class: "num" }, "memory"), h("th", { class: "num" }, "cache"))),
    h("tbody", {}, ...sorted.map((a) => h("tr", { "data-agent": a.id, "data-site": a.site },
      h("td", {}, a.site), h("td", {}, a.kind), h("td", { class: "wrap" }, a.id + (a.batchJob ? ` (job ${a.batchJob})` : "")),
      h("td", { class: "num" }, `${a.cores - a.freeCores} / ${a.cores}`), h("td", { class: "num" }, a.running),
      h("td", { class: "num" }, bytes(a.memoryMB * 1024 * 1024)), h("td", { class: "num" }, bytes(a.cacheBytes))))),
  ));
}

/**
 * Bars per minute, one series per key, stacked.
 * @param {HTMLElement} root @param {{minute: number, values: Record<string, number>}[]} points @param {string[]} keys
 * @param {(k: string, i: number) => string} colourOf @param {(v: number) => string} fmt @param {string} empty
 */
function barPlot(root, points, keys, colourOf, fmt, empty) {
  if (points.length === 0 || keys.length === 0) return root.replaceChildren(h("p", { class: "muted" }, empty));
  const W = 600, H = 180, L = 56, B = 22, T = 8;
  const max = Math.max(1, ...points.map((p) => keys.reduce((n, k) => n + (p.values[k] ?? 0), 0)));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  const slots = Math.max(points.length, 10);
  const bw = (W - L - 4) / slots;
  for (const f of [0, 0.5, 1]) {
    const y = H - B - f * (H - B - T);
    svg.append(s("line", { x1: L, x2: W, y1: y, y2: y, stroke: "#e2e5eb" }));
    const label = s("text", { x: L - 4, y: y + 3, "text-anchor": "end" });
    label.textContent = fmt(max * f);
    svg.append(label);
  }
  points.forEach((p, i) => {
    let y = H - B;
    const x = L + 2 + i * bw;
    keys.forEach((k, ki) => {
      const v = p.values[k] ?? 0;
      if (v <= 0) return;
      const bh = (v / max) * (H - B - T);
      y -= bh;
      const rect = s("rect", { x: x + 1, y, width: Math.max(1, bw - 2), height: bh, fill: colourOf(k, ki) });
      const title = s("title", {});
      title.textContent = `${new Date(p.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} ${k}: ${fmt(v)}`;
      rect.append(title);
      svg.append(rect);
    });
    if (i === 0 || i === points.length - 1 || i % 5 === 0) {
      const t = s("text", { x: x + bw / 2, y: H - 6, "text-anchor": "middle" });
      t.textContent = new Date(p.minute).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      svg.append(t);
    }
  });
  const leg = h("div", { class: "legend" }, ...keys.map((k, ki) => {
    const sw = h("i");
    sw.style.background = colourOf(k, ki);
    return h("span", {}, sw, k);
  }));
  root.replaceChildren(svg, leg);
}

/** @param {{minute: number, sites: Record<string, any>}[]} minutes */
function renderThroughput(minutes) {
  const sites = [...new Set(minutes.flatMap((m) => Object.keys(m.sites)))].sort();
  const completed = minutes.map((m) => ({ minute: m.minute, values: Object.fromEntries(sites.map((site) => [site, m.sites[site]?.succeeded ?? 0])) }));
  const total = completed.reduce((n, p) => n + sites.reduce((k, site) => k + (p.values[site] ?? 0), 0), 0);
  $("completed-plot").dataset.total = String(total);
  barPlot($("completed-plot"), completed, sites, (_k, i) => SITE_COLOURS[i % SITE_COLOURS.length] ?? "#999", (v) => String(Math.round(v)), "No quantum has finished in the last hour.");
  const series = { "staged in": "bytesIn", "written out": "bytesOut", "from cache": "bytesCached" };
  const moved = minutes.map((m) => ({
    minute: m.minute,
    values: Object.fromEntries(Object.entries(series).map(([label, field]) => [label, Object.values(m.sites).reduce((n, f) => n + (f[field] ?? 0), 0)])),
  }));
  const colours = ["#2f7fd8", "#2e9e5b", "#c9ced8"];
  barPlot($("bytes-plot"), moved, Object.keys(series), (_k, i) => colours[i] ?? "#999", bytes, "No bytes moved in the last hour.");
}

/** The last non-empty line of a text or a list of lines. @param {unknown} v */
function lastLine(v) {
  const lines = Array.isArray(v) ? v.map(String) : typeof v === "string" ? v.split("\n") : [];
  return lines.filter((l) => l.trim() !== "").slice(-1)[0] ?? "";
}

/** @param {any[] | undefined} tickets */
function renderTickets(tickets) {
  const root = $("tickets");
  if (!Array.isArray(tickets) || tickets.length === 0) return root.replaceChildren(h("p", { class: "muted" }, "No tickets."));
  const cols = ["campaign", "quantum", "task", "state", "outcome", "exitCode"];
  const cell = (/** @type {unknown} */ v) => (v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  root.replaceChildren(h("table", {},
    h("thead", {}, h("tr", {}, ...cols.map((c) => h("th", {}, c)), h("th", {}, "last stderr"))),
    h("tbody", {}, ...tickets.slice(0, 50).map((t) => h("tr", { "data-ticket": cell(t.id ?? t.quantum) },
      ...cols.map((c) => h("td", { class: c === "quantum" ? "wrap" : "" }, cell(t[c]))),
      h("td", { class: "wrap muted" }, lastLine(t.stderrTail ?? t.lastStderr ?? t.stderr ?? t.message)))))));
}

/** @param {any} rules */
function renderRules(rules) {
  const root = $("rules");
  if (!rules || !rules.available) return root.replaceChildren(h("p", { class: "muted" }, rules?.error ?? "The DBB has not answered yet."));
  if (rules.rules.length === 0) return root.replaceChildren(h("p", { class: "muted" }, "The DBB has no rules."));
  root.replaceChildren(
    h("p", { class: "muted" }, rules.more ? `the newest ${rules.rules.length} of the first ${rules.total} rules (the DBB has more: \`orrery dbb rule list\`)` : rules.total > rules.rules.length ? `the newest ${rules.rules.length} of ${rules.total} rules` : `${rules.total} rule${rules.total === 1 ? "" : "s"}`),
    h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "state"), h("th", {}, "DID"), h("th", {}, "RSEs"), h("th", { class: "num" }, "locks ok / replicating / stuck"))),
      h("tbody", {}, ...rules.rules.map((/** @type {any} */ r) => {
        const st = h("span", { class: "state", "data-state": r.state === "OK" ? "SUCCEEDED" : r.state === "STUCK" ? "FAILED" : "RUNNING" }, r.state);
        return h("tr", { "data-rule": r.id }, h("td", {}, st), h("td", { class: "wrap" }, r.did), h("td", {}, `${r.rseExpression}${r.copies > 1 ? ` ×${r.copies}` : ""}`), h("td", { class: "num" }, `${r.locksOk} / ${r.locksReplicating} / ${r.locksStuck}`));
      })),
    ),
  );
}

/** @param {any} o */
function render(o) {
  renderCampaigns(o.campaigns ?? []);
  renderQuanta(o.quanta ?? {});
  renderAgents(o.agents ?? []);
  renderThroughput(o.throughput ?? []);
  renderTickets(o.tickets);
  renderRules(o.rules);
  $("updated").textContent = `updated ${new Date(o.now ?? Date.now()).toLocaleTimeString()}`;
}

let streaming = false;
let unauthorized = false;

function unauthorizedPage() {
  unauthorized = true;
  connection("unauthorized", "no operator token");
  banner("the operator token is needed: open the URL from `orrery local status`", "`orrery local status`");
}

async function poll() {
  try {
    const res = await fetch("/api/overview", { headers, cache: "no-store" });
    if (res.status === 401) return unauthorizedPage();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
    unauthorized = false;
    banner(null);
    if (!streaming) connection("polling", "connected (polling)");
  } catch {
    if (unauthorized) return;
    connection("disconnected", "disconnected, retrying");
    banner("disconnected, retrying: the coordinator does not answer");
  }
}

let refreshSoon = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
/** An event arrived: show it, and refresh the figures shortly (events come in bursts). @param {string} kind @param {string} data */
function onEvent(kind, data) {
  let e;
  try {
    e = JSON.parse(data);
  } catch {
    return;
  }
  const list = $("events");
  $("no-events").hidden = true;
  const what = [e.kind ?? kind, e.campaign, e.task, e.quantum ?? e.did, e.state, e.site, e.outcome].filter((x) => x !== undefined && x !== "").join(" ");
  list.prepend(h("li", {}, `${new Date(typeof e.ts === "number" ? e.ts : Date.now()).toLocaleTimeString()} ${what}`));
  while (list.children.length > EVENTS_SHOWN) list.lastElementChild?.remove();
  refreshSoon ??= setTimeout(() => {
    refreshSoon = undefined;
    void poll();
  }, 250);
}

/** Follows /api/events until it ends, then again after a pause. */
async function follow() {
  for (;;) {
    try {
      const res = await fetch("/api/events", { headers, cache: "no-store" });
      if (res.status === 401) unauthorizedPage();
      else if (res.ok && res.body) {
        streaming = true;
        connection("live", "live");
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let kind = "message";
            const data = [];
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) kind = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
            }
            if (data.length > 0) onEvent(kind, data.join("\n"));
          }
        }
      }
    } catch {
      // The coordinator went away: the poll shows it; try again below.
    }
    streaming = false;
    await new Promise((r) => setTimeout(r, unauthorized ? 10 * RETRY_MS : RETRY_MS));
  }
}

void poll();
setInterval(() => void poll(), POLL_MS);
void follow();
