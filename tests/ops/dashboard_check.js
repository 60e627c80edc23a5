// Drives headless Chromium (Debian's /usr/bin/chromium) with playwright-core to check the dashboard
// of a running `binlake run`: the per-table rows, and that the lag chart's data moves over time.
// usage: node dashboard_check.js URL TABLES_JSON SCREENSHOT  (prints one JSON result line)
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const [url, tablesJson, screenshot] = process.argv.slice(2);
  const tables = JSON.parse(tablesJson);
  const problems = [];
  const browser = await chromium.launch({
    executablePath: process.env.BINLAKE_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const result = { problems };
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("requestfailed", (r) => errors.push("request failed: " + r.url()));
    page.on("request", (r) => {
      if (!r.url().startsWith(url)) errors.push("external request: " + r.url());
    });
    await page.goto(url, { waitUntil: "load" });
    for (const t of tables) {
      await page.waitForSelector(`tr[data-table="${t}"]`, { timeout: 20000 });
    }
    // Wait for the rows to show replicating tables with the workload's changes.
    await page.waitForFunction((names) => names.every((n) => {
      const tr = document.querySelector(`tr[data-table="${n}"]`);
      return tr && tr.querySelector(".state").textContent === "replicating" &&
        Number(tr.querySelector(".ins").textContent) > 0;
    }), tables, { timeout: 30000 });
    const rowsBefore = await page.$$eval("#tables tr", (trs) => trs.map((tr) => ({
      table: tr.dataset.table,
      state: tr.querySelector(".state").textContent,
      inserts: Number(tr.querySelector(".ins").textContent),
      updates: Number(tr.querySelector(".upd").textContent),
      deletes: Number(tr.querySelector(".del").textContent),
      lag: tr.querySelector(".lag").textContent,
      cells: tr.children.length,
    })));
    result.rows = rowsBefore;
    const names = rowsBefore.map((r) => r.table).sort();
    if (JSON.stringify(names) !== JSON.stringify([...tables].sort())) {
      problems.push(`table rows ${names} != ${tables}`);
    }
    for (const r of rowsBefore) {
      if (r.cells !== 11) problems.push(`${r.table}: ${r.cells} cells, not 11`);
    }
    // The lag chart: its samples and its lines change while the pipeline runs.
    const chart = async () => page.$eval("#lag-chart", (svg) => ({
      samples: Number(svg.dataset.samples),
      last: Number(svg.dataset.last),
      lake: svg.querySelector("#line-lake").getAttribute("points"),
      staged: svg.querySelector("#line-staged").getAttribute("points"),
    }));
    const c0 = await chart();
    await page.waitForTimeout(3500);
    const c1 = await chart();
    result.chart = { before: { samples: c0.samples, last: c0.last },
                     after: { samples: c1.samples, last: c1.last },
                     lake_points: c1.lake.split(" ").filter(Boolean).length };
    if (!(c1.last > c0.last)) problems.push(`the chart's last sample did not move (${c0.last})`);
    if (c1.lake === c0.lake && c1.staged === c0.staged) {
      problems.push("the chart's lines did not change in 3.5 s");
    }
    if (!c1.lake) problems.push("the chart has no lake lag line");
    // The counts go up as the workload continues.
    const after = await page.$$eval("#tables tr", (trs) => trs.map((tr) =>
      Number(tr.querySelector(".ins").textContent) + Number(tr.querySelector(".upd").textContent) +
      Number(tr.querySelector(".del").textContent)));
    const before = rowsBefore.map((r) => r.inserts + r.updates + r.deletes);
    if (!(after.reduce((a, b) => a + b, 0) > before.reduce((a, b) => a + b, 0))) {
      problems.push(`the table counts did not grow: ${before} -> ${after}`);
    }
    await page.screenshot({ path: screenshot, fullPage: true });
    result.screenshot = screenshot;
    problems.push(...errors);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(problems.length ? 1 : 0);
}

main().catch((e) => {
  console.log(JSON.stringify({ problems: [String(e && e.stack || e)] }));
  process.exit(1);
});
