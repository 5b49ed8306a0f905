/**
 * The dashboard page at `/`: every registered machine's statechart (SVG laid out by ELK from the
 * machine definitions), live counts per state of the session and supervisor machines, queue depth
 * per priority, in-flight calls per provider against their limits, throughput and latency over time
 * (clock-time axes), and recent sessions. One self-contained HTML document: no CDN, no library in
 * the browser (the layout is computed on the server), nothing fetched but `/events`. Laid out for
 * screens down to 800 px: one header line, one column, no sideways scrolling.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chartModel, MACHINES } from './chart.js';
import { type ChartLayout, layoutMachines } from './chart-layout.js';
import type { LayoutMessage } from './chart-layout-worker.js';
import { CHART_CSS, chartSvg } from './chart-svg.js';
import { DASHBOARD_SCRIPT } from './dashboard-client.js';

const STYLE = `
:root { --fg:#1d2330; --muted:#687082; --line:#d6dae3; --bg:#f6f7fa; --card:#fff; --accent:#3563e9; --busy:#e8efff;
  --ok:#1f9d55; --bad:#d64545; --warn:#c98a00; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:nowrap; align-items:center; gap:16px; padding:12px 20px; background:var(--card); border-bottom:1px solid var(--line); white-space:nowrap; }
header h1 { font-size:18px; margin:0; }
header .stat b { font-size:18px; margin-left:4px; }
.pill { padding:2px 10px; border-radius:10px; background:#e2f5ea; color:var(--ok); font-weight:600; }
.pill.draining { background:#fff4d6; color:var(--warn); } .pill.stopped { background:#fde4e4; color:var(--bad); }
#conn { margin-left:auto; color:var(--muted); }
main { display:grid; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); gap:16px; padding:16px 20px; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; }
section h2 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0 0 10px; }
.wide { grid-column: 1 / -1; }
.charts { display:flex; flex-wrap:wrap; gap:16px 28px; align-items:flex-start; }
.charts figure { margin:0; min-width:0; max-width:100%; }
.charts figcaption { font-size:12px; color:var(--muted); margin-bottom:4px; }
svg.chart { max-width:100%; height:auto; }
.bar-row { display:grid; grid-template-columns: 90px 1fr 120px; align-items:center; gap:8px; margin:3px 0; }
.bar-label { color:var(--muted); font-size:12px; }
.bar-track { height:10px; background:#eef0f5; border-radius:5px; overflow:hidden; }
.bar-fill { display:block; height:100%; background:var(--accent); }
.bar-fill.full { background:var(--warn); }
.bar-value { font-variant-numeric:tabular-nums; font-size:12px; min-width:0; overflow-wrap:anywhere; }
.spark { display:block; width:100%; height:130px; }
.spark path { fill:none; stroke-width:1.8; } .spark .l1 { stroke:var(--accent); } .spark .l2 { stroke:var(--bad); } .spark .l3 { stroke:var(--warn); }
.spark circle.l1 { fill:var(--accent); } .spark circle.l2 { fill:var(--bad); } .spark circle.l3 { fill:var(--warn); }
.spark .axis { stroke:#b9bfcc; } .spark .grid { stroke:#eef0f5; } .spark text { font-size:10px; fill:var(--muted); font-variant-numeric:tabular-nums; }
.legend span { margin-right:12px; font-size:12px; } .legend i { display:inline-block; width:10px; height:3px; margin-right:4px; vertical-align:middle; }
.table-wrap { overflow-x:auto; }
table { width:100%; border-collapse:collapse; font-size:12px; font-variant-numeric:tabular-nums; }
th, td { text-align:left; padding:4px 6px; border-bottom:1px solid #eef0f5; white-space:nowrap; }
th { color:var(--muted); font-weight:600; }
tr.state-done td.st { color:var(--ok); } tr.state-failed td.st, tr.state-timedOut td.st { color:var(--bad); }
tr.state-cancelled td.st { color:var(--warn); } tr.state-queued td.st, tr.state-running td.st { color:var(--accent); }
/* Figures from before the connection was lost (the header says since when). */
body.stale main, body.stale header .stat, body.stale #lifecycle, body.stale #scope { opacity:.45; }
.none { color:var(--muted); font-size:12px; }
pre#ticker { margin:0; font-size:11px; color:var(--muted); min-height:60px; white-space:pre-wrap; overflow-wrap:anywhere; }
/* The full header needs about 1300 px with its widest figures; below that it keeps one line with short labels. */
@media (max-width: 1320px) {
  header { gap:6px; padding:9px 8px; font-size:11px; } header h1 { font-size:15px; } header .stat b { font-size:13px; margin-left:3px; }
  .pill { padding:1px 6px; }
  header .stat .k { font-size:0; } header .stat .k::before { content: attr(data-short); font-size:11px; }
  #conn { font-size:0; } #conn::before { content:'\\25CF'; font-size:14px; color:var(--warn); } #conn.live::before { color:var(--ok); }
}
@media (max-width: 1000px) {
  main { grid-template-columns: minmax(0, 1fr); gap:12px; padding:12px; }
}
${CHART_CSS}`;

/** The machines whose states the page counts (the script knows where their numbers come from). */
const COUNTED: ReadonlySet<string> = new Set(['session', 'supervisor', 'breaker', 'provider']);

let page: Promise<string> | undefined;

/**
 * The whole page, built once on first use (the charts do not change while the process runs). ELK
 * takes a few seconds the first time, loading elkjs included, and runs synchronously: the layouts
 * are computed in a worker thread (`chart-layout-worker.ts`), so the server's thread keeps
 * answering meanwhile. A failed build is not kept: the next call tries again. `troupe serve` calls
 * this at start, so the first visit usually finds the page built.
 */
export function dashboardHtml(): Promise<string> {
  if (page === undefined) {
    const building = build();
    page = building;
    building.then(undefined, () => {
      if (page === building) page = undefined;
    });
  }
  return page;
}

/** The compiled worker beside this module; absent when this module runs from TypeScript source (tests). */
const WORKER = new URL('./chart-layout-worker.js', import.meta.url);

/** Every machine's layout: in the worker thread when it is built, else (from source) on this thread. */
export function chartLayouts(): Promise<Readonly<Record<string, ChartLayout>>> {
  if (!existsSync(fileURLToPath(WORKER))) return layoutMachines();
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER);
    // Never what keeps the process alive: a server stopping while the page builds need not wait for it.
    worker.unref();
    worker.once('message', (message: LayoutMessage) => {
      if (message.ok) resolve(message.layouts);
      else reject(new Error(`Expected the dashboard's charts to lay out, got: ${message.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) =>
      reject(
        new Error(`Expected the chart layout worker to post its layouts, got an exit with code ${code}`),
      ),
    );
  });
}

async function build(): Promise<string> {
  const layouts = await chartLayouts();
  const charts = Object.entries(MACHINES).map(([name, machine]) => {
    const model = chartModel(machine);
    const layout = layouts[name];
    if (layout === undefined) throw new Error(`Expected a layout for the ${name} chart, got none`);
    const svg = chartSvg(model, layout, { counts: COUNTED.has(name) });
    return `<figure id="chart-${name}"><figcaption>${name}</figcaption>${svg}</figure>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>troupe dashboard</title><style>${STYLE}</style></head>
<body data-updates="0">
<header><h1>troupe</h1><span id="lifecycle" class="pill">…</span><span id="scope" class="pill" title="what these figures cover">…</span>
<span class="stat" title="sessions waiting">queued<b id="queued-total">0</b></span><span class="stat" title="sessions running">running<b id="running-total">0</b></span>
<span class="stat" title="sessions ended since the server started">ended<b id="ended-total">0</b></span><span class="stat" title="sessions ended per second"><span class="k" data-short="rate">throughput</span><b id="rate">0/s</b></span>
<span class="stat" title="run time, median (last bucket)"><span class="k" data-short="p50">run p50</span><b id="p50">–</b></span><span class="stat" title="run time, 95th percentile (last bucket)">p95<b id="p95">–</b></span><span id="conn" title="connection to the server">connecting…</span></header>
<main>
<section class="wide"><h2>Statecharts — live sessions per state, ended sessions per final state</h2>
<div class="charts">${charts.join('')}</div></section>
<section><h2>Throughput (sessions ended per second)</h2><svg id="throughput" class="spark"></svg>
<h2>Latency</h2><svg id="latency" class="spark"></svg>
<div class="legend"><span><i style="background:var(--accent)"></i>run p50</span><span><i style="background:var(--bad)"></i>run p95</span><span><i style="background:var(--warn)"></i>queue wait p50</span></div></section>
<section><h2>Queue depth by priority</h2><div id="queue-depth"></div>
<h2 style="margin-top:14px">In flight per provider (running / limit)</h2><div id="in-flight"></div>
<h2 style="margin-top:14px">Cost of ended sessions, by currency (models with a price)</h2><div id="cost-total" class="cost">–</div>
<h2 style="margin-top:14px">Limits per provider: what is left in its own units, its cooldown (the provider chart counts providers per state)</h2><div id="limits"></div>
<h2 style="margin-top:14px">Circuit breakers per provider (the breaker chart counts providers per state)</h2><div id="breakers"></div>
<h2 style="margin-top:14px">Events</h2><pre id="ticker"></pre></section>
<section class="wide"><h2>Sessions — live, then most recent</h2>
<div class="table-wrap"><table id="sessions"><thead><tr><th>id</th><th>tool</th><th>provider</th><th>model</th><th>state</th><th>queued</th><th>run</th><th>attempts</th><th>error</th></tr></thead><tbody></tbody></table></div></section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body></html>
`;
}
