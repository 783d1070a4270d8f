// The supervisor's charts (no build step, no inline script: the CSP is default-src 'self').
// Reads the numbers from <script type="application/json" id="chart-data"> and draws them with
// the vendored ECharts (SVG renderer): claims paid by township by month as bars with the
// amount paid as a line, and SLA compliance by month. The tables under the charts carry the
// same numbers for keyboard and screen-reader users.
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var paidEl = document.getElementById("chart-paid");
    var slaEl = document.getElementById("chart-sla");
    var charts = [];
    if (paidEl) {
      var series = data.townships.map(function (t) {
        return { name: t, type: "bar", yAxisIndex: 0, data: data.paid_claims[t] };
      });
      series.push({
        name: paidEl.dataset.amount, type: "line", yAxisIndex: 1,
        data: data.total_amounts.map(Number)
      });
      var paid = window.echarts.init(paidEl, null, { renderer: "svg" });
      paid.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { type: "scroll", top: 0 },
        grid: { left: 48, right: 72, top: 40, bottom: 32 },
        xAxis: { type: "category", data: data.months },
        yAxis: [
          { type: "value", name: paidEl.dataset.count, minInterval: 1 },
          { type: "value", name: paidEl.dataset.amount }
        ],
        series: series
      });
      charts.push(paid);
    }
    if (slaEl) {
      var late = data.closed.map(function (n, i) { return n - data.met[i]; });
      var sla = window.echarts.init(slaEl, null, { renderer: "svg" });
      sla.setOption({
        animation: false,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 56, top: 40, bottom: 32 },
        xAxis: { type: "category", data: data.months },
        yAxis: [
          { type: "value", minInterval: 1 },
          { type: "value", name: slaEl.dataset.pct, min: 0, max: 100 }
        ],
        series: [
          { name: slaEl.dataset.met, type: "bar", stack: "closed", data: data.met },
          { name: slaEl.dataset.late, type: "bar", stack: "closed", data: late },
          { name: slaEl.dataset.pct, type: "line", yAxisIndex: 1, connectNulls: false, data: data.met_pct }
        ]
      });
      charts.push(sla);
    }
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
