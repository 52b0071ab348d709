// Metrics charts (Features/Metrics) with uPlot: the project page, the dashboard's host section, and sparklines.
// An element with data-metrics="<url>" gets its charts drawn from that JSON (MetricsSeries); data-metrics-spark="<url>"
// tiny lines, one per child with data-spark (cpu or memory), from one fetch. uPlot (50 KB) and its stylesheet are loaded on the first page
// that has a chart, not on every page. Runs for the first page and for each htmx swap (boosted navigation included),
// since swapped-in <script> tags do not run (htmx allowScriptTags is off for the Content-Security-Policy).
(() => {
  const version = document.currentScript?.src.split("?v=")[1] ?? "";
  let uplotLoading = null;
  // The stylesheet must apply before a chart is made: uPlot measures where its cursor layer sits when it is created,
  // and without the stylesheet that layer is elsewhere (hover then showed no values until the page scrolled).
  function load(tag, attrs) {
    return new Promise((resolve, reject) => {
      const el = Object.assign(document.createElement(tag), attrs);
      el.onload = resolve;
      el.onerror = reject;
      document.head.appendChild(el);
    });
  }
  function loadUplot() {
    if (window.uPlot) return Promise.resolve();
    uplotLoading ??= Promise.all([
      load("link", { rel: "stylesheet", href: "/static/css/uplot.css?v=" + version }),
      load("script", { src: "/static/js/uplot.js?v=" + version }),
    ]);
    return uplotLoading;
  }

  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  function bytes(v) {
    if (v == null) return "–";
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
  }
  const rate = (v) => (v == null ? "–" : bytes(v) + "/s");
  const percent = (v) => (v == null ? "–" : v.toFixed(1) + " %");
  const colors = ["#2458d6", "#d6452f", "#1f7a3d", "#8a5a00"];

  // Each chart: a title, the series' labels and arrays (taken from the JSON), a value format.
  const projectCharts = (d) => [
    { title: "CPU", fmt: percent, series: [["CPU", d.cpuPercent]] },
    { title: "Memory", fmt: bytes, series: [["used", d.memoryBytes], ["limit", d.memoryLimitBytes]] },
    { title: "Network", fmt: rate, series: [["received", d.netRxBps], ["sent", d.netTxBps]] },
    { title: "Block I/O", fmt: rate, series: [["read", d.blockReadBps], ["written", d.blockWriteBps]] },
  ];
  const hostCharts = (d) => [
    { title: "CPU", fmt: percent, series: [["CPU", d.cpuPercent]] },
    { title: "Memory", fmt: bytes, series: [["used", d.memoryUsedBytes], ["total", d.memoryTotalBytes]] },
    { title: "Free disk", fmt: bytes, series: [["data dir", d.dataFreeBytes], ["Docker root", d.dockerFreeBytes]] },
    { title: "Docker disk use", fmt: bytes, series: [["images", d.dockerImagesBytes], ["containers", d.dockerContainersBytes],
      ["volumes", d.dockerVolumesBytes], ["build cache", d.dockerBuildCacheBytes]] },
  ];

  function draw(box, data) {
    const holder = box.querySelector(".metrics-charts");
    const empty = box.querySelector(".metrics-empty");
    if (empty) empty.hidden = data.t.length > 0;
    holder.replaceChildren();
    box._plots = [];
    const charts = box.dataset.metricsKind === "host" ? hostCharts(data) : projectCharts(data);
    // Every chart's box first, then the charts: a box's width is its grid cell's only once all cells exist.
    const divs = charts.map((c) => {
      const div = document.createElement("div");
      div.className = "chart";
      div.dataset.chart = c.title.toLowerCase().replace(/ /g, "-");
      holder.appendChild(div);
      return div;
    });
    charts.forEach((c, n) => {
      const div = divs[n];
      const opts = {
        title: c.title,
        width: Math.max(div.clientWidth, 200),
        height: 170,
        // Values on hover: uPlot's legend follows the cursor and shows each series' value there.
        legend: { live: true },
        scales: { x: { time: true } },
        series: [{ value: "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}" }].concat(c.series.map(([label], i) => ({
          label, stroke: colors[i % colors.length], width: 1.5, spanGaps: true, value: (u, v) => c.fmt(v),
        }))),
        axes: [{}, { values: (u, vals) => vals.map(c.fmt), size: 80 }],
      };
      box._plots.push(new uPlot(opts, [data.t].concat(c.series.map(([, arr]) => arr ?? [])), div));
    });
  }

  async function refresh(box) {
    const range = box.dataset.range || "1h";
    const res = await fetch(box.dataset.metrics + "?range=" + encodeURIComponent(range), { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const data = await res.json();
    await loadUplot();
    draw(box, data);
  }

  function start(box) {
    if (box.dataset.started) return;
    box.dataset.started = "1";
    box.addEventListener("click", (e) => {
      const b = e.target.closest("[data-range]");
      if (!b) return;
      box.dataset.range = b.dataset.range;
      box.querySelectorAll("[data-range]").forEach((x) => x.setAttribute("aria-pressed", x === b ? "true" : "false"));
      refresh(box);
    });
    refresh(box);
    // New points arrive every Metrics:IntervalSeconds; the charts follow while the page is open.
    const timer = setInterval(() => { if (!box.isConnected) clearInterval(timer); else if (!document.hidden) refresh(box); }, 15000);
  }

  // One fetch per project row draws both of its lines (CPU and memory come in the same series).
  async function spark(box) {
    if (box.dataset.started) return;
    box.dataset.started = "1";
    const res = await fetch(box.dataset.metricsSpark + "?range=1h", { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const d = await res.json();
    await loadUplot();
    box.querySelectorAll("[data-spark]").forEach((el) => {
      const memory = el.dataset.spark === "memory";
      const values = memory ? d.memoryBytes : d.cpuPercent;
      el.title = (memory ? "memory " + bytes(values.at(-1)) : "CPU " + percent(values.at(-1))) + " (last hour)";
      new uPlot({
        width: 100, height: 24, legend: { show: false }, cursor: { show: false }, axes: [{ show: false }, { show: false }],
        scales: { x: { time: true } }, series: [{}, { stroke: memory ? colors[1] : colors[0], width: 1, spanGaps: true }],
      }, [d.t, values], el);
    });
  }

  function init(root) {
    root.querySelectorAll("[data-metrics]").forEach(start);
    root.querySelectorAll("[data-metrics-spark]").forEach(spark);
  }
  document.addEventListener("DOMContentLoaded", () => init(document));
  document.addEventListener("htmx:load", (e) => init(e.target));
  window.addEventListener("resize", () => {
    document.querySelectorAll("[data-metrics]").forEach((box) => {
      const plots = box._plots || [];
      // Shrink first, so the grid can lay its cells out for the new width, then fill each cell.
      plots.forEach((p) => p.setSize({ width: 200, height: 170 }));
      plots.forEach((p) => p.setSize({ width: Math.max(p.root.parentElement.clientWidth, 200), height: 170 }));
    });
  });
})();
