// The dashboard page of `binlake run` ([ops] listen): built in, polls /api/status every second and
// draws the per-table table and the lag chart (hand-written SVG) itself.
#include "ops/ops.h"

namespace binlake::ops {

const std::string& DashboardHtml() {
  static const std::string kHtml = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>binlake</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f6f9; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 24px;
           align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .meta { color: #aab3c5; font-size: 12px; }
  main { padding: 16px 20px; }
  .cards { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 16px; }
  .card { background: #fff; border-radius: 6px; padding: 10px 14px; min-width: 130px;
          box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .card .v { font-size: 22px; font-weight: 600; }
  .card .k { font-size: 12px; color: #667; }
  section { background: #fff; border-radius: 6px; padding: 12px 14px; margin-bottom: 16px;
            box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { padding: 5px 8px; border-bottom: 1px solid #e6e9ef; text-align: right;
           white-space: nowrap; }
  th { font-size: 12px; color: #556; font-weight: 600; }
  th:first-child, td:first-child, td.l, th.l { text-align: left; }
  .state { border-radius: 10px; padding: 1px 8px; font-size: 12px; color: #fff; }
  .s-replicating { background: #2e8b57; } .s-loading { background: #d98c00; }
  .s-loaded { background: #3a7bd5; } .s-queued { background: #888; } .s-error { background: #c0392b; }
  .bar { display: inline-block; width: 80px; height: 8px; background: #e6e9ef; border-radius: 4px;
         vertical-align: middle; margin-right: 6px; }
  .bar i { display: block; height: 100%; background: #3a7bd5; border-radius: 4px; }
  #lag-chart { width: 100%; height: 220px; display: block; }
  .legend span { margin-right: 14px; font-size: 12px; }
  .err { color: #c0392b; }
  code { font-size: 12px; }
</style>
</head>
<body>
<header><h1>binlake</h1><span class="meta" id="meta">connecting...</span></header>
<main>
<div class="cards">
  <div class="card"><div class="v" id="lag-staged">-</div><div class="k">lag to staging (s)</div></div>
  <div class="card"><div class="v" id="lag-lake">-</div><div class="k">lag to lake (s)</div></div>
  <div class="card"><div class="v" id="tot-rows">-</div><div class="k">row changes (I/U/D)</div></div>
  <div class="card"><div class="v" id="tot-pending">-</div><div class="k">files pending</div></div>
  <div class="card"><div class="v" id="tot-errors">-</div><div class="k">errors</div></div>
  <div class="card"><div class="v" id="checkpoint" style="font-size:14px">-</div>
    <div class="k">checkpoint</div></div>
</div>
<section>
  <h2>Tables</h2>
  <table>
    <thead><tr><th>table</th><th class="l">state</th><th class="l">full load</th><th>inserts</th>
      <th>updates</th><th>deletes</th><th>DDL</th><th>rows/s</th><th>pending</th>
      <th class="l">last applied file</th><th>lag (s)</th></tr></thead>
    <tbody id="tables"></tbody>
  </table>
</section>
<section>
  <h2>Lag (seconds; the last minute, up to ten)</h2>
  <div class="legend"><span style="color:#d98c00">&#9632; commit to staging</span>
    <span style="color:#3a7bd5">&#9632; commit to lake</span></div>
  <svg id="lag-chart" viewBox="0 0 800 220" preserveAspectRatio="none" data-samples="0"></svg>
</section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
  "\"": "&quot;"}[c]));
const fmt = (n) => n >= 1e6 ? (n / 1e6).toFixed(2) + "M" : n >= 1e4 ? (n / 1e3).toFixed(1) + "k"
  : String(Math.round(n));
const lag = (v) => v < 0 ? "-" : v.toFixed(1);

function drawChart(history) {
  const svg = $("lag-chart");
  const W = 800, H = 220, L = 40, B = 20;
  const max = Math.max(1, ...history.flatMap((h) => [h[1], h[2]]));
  // The window grows with the history, from one minute to ten.
  const t1 = history.length ? history[history.length - 1][0] : 0;
  const span = Math.min(600, Math.max(60, history.length ? t1 - history[0][0] : 0));
  const t0 = t1 - span;
  const x = (t) => L + (W - L - 5) * (t - t0) / span, y = (v) => (H - B) - (H - B - 10) * v / max;
  const line = (i) => history.filter((h) => h[i] >= 0)
    .map((h) => x(h[0]).toFixed(1) + "," + y(h[i]).toFixed(1)).join(" ");
  let g = "";
  for (let k = 0; k <= 4; k++) {
    const v = max * k / 4;
    g += `<line x1="${L}" x2="${W}" y1="${y(v)}" y2="${y(v)}" stroke="#e6e9ef"/>` +
      `<text x="${L - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end" fill="#667">` +
      `${max < 4 ? v.toFixed(2) : v.toFixed(0)}</text>`;
  }
  g += `<polyline id="line-staged" fill="none" stroke="#d98c00" stroke-width="2" ` +
    `points="${line(1)}"/><polyline id="line-lake" fill="none" stroke="#3a7bd5" ` +
    `stroke-width="2" points="${line(2)}"/>`;
  svg.innerHTML = g;
  svg.dataset.samples = history.length;
  svg.dataset.last = t1;
  svg.dataset.lastLake = history.length ? history[history.length - 1][2] : -1;
}

function render(s) {
  $("meta").textContent = "up " + Math.round(s.now - s.started) + " s \u00b7 " +
    new Date(s.now * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  $("lag-staged").textContent = lag(s.lag.staged_s);
  $("lag-lake").textContent = lag(s.lag.lake_s);
  const t = s.totals;
  $("tot-rows").textContent = fmt(t.inserts) + " / " + fmt(t.updates) + " / " + fmt(t.deletes);
  $("tot-pending").textContent = t.files_pending;
  $("tot-errors").textContent = t.errors;
  $("checkpoint").textContent = s.checkpoint.position || "-";
  const rows = s.tables.map((r) => {
    const fl = r.full_load;
    const pct = fl.done ? 100 : fl.estimated > 0 ? Math.min(100, 100 * fl.rows / fl.estimated) : 0;
    const load = fl.rows || fl.done ? `<span class="bar"><i style="width:${pct.toFixed(0)}%">` +
      `</i></span>${fmt(fl.rows)}${fl.done ? "" : " (" + pct.toFixed(0) + "%)"}` : "-";
    const rate = r.rows_per_second.insert + r.rows_per_second.update + r.rows_per_second.delete;
    return `<tr data-table="${esc(r.table)}"><td>${esc(r.table)}</td>` +
      `<td class="l"><span class="state s-${r.state}" title="${esc(r.last_error)}">${r.state}` +
      `</span></td><td class="l">${load}</td><td class="ins">${r.inserts}</td>` +
      `<td class="upd">${r.updates}</td><td class="del">${r.deletes}</td><td>${r.ddl}</td>` +
      `<td>${fmt(rate)}</td><td class="pending">${r.files_pending}</td>` +
      `<td class="l"><code>${esc(r.last_applied_file || "-")}</code></td>` +
      `<td class="lag">${lag(r.lag_lake_s)}</td></tr>`;
  });
  $("tables").innerHTML = rows.join("");
  drawChart(s.history);
}

async function poll() {
  try {
    const r = await fetch("api/status", {cache: "no-store"});
    render(await r.json());
  } catch (e) {
    $("meta").innerHTML = `<span class="err">cannot reach binlake: ${esc(e.message)}</span>`;
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
)HTML";
  return kHtml;
}

}  // namespace binlake::ops
