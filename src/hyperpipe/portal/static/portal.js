/* hyperpipe portal: charts (uPlot), the parallel-coordinates chart, sortable tables and live
   refresh. Every value from the server is inserted as text, never as HTML. */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const plots = new Map();

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response.json();
  }

  function note(el, text) {
    el.textContent = "";
    const div = document.createElement("div");
    div.className = "chart-note";
    div.textContent = text;
    el.appendChild(div);
  }

  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(2).replace(/\.?0+e/, "e");
    return String(Number(v.toPrecision(4)));
  }

  function legendValue(v) {
    return v === null || v === undefined || Number.isNaN(v) ? "" : fmt(v);
  }

  // -- line charts --------------------------------------------------------------------------

  // One chart, one or many lines: series are {label, values, color?, dash?, pointsOnly?}.
  function lineChart(el, xs, series, xLabel, { integerX = false, height = 240, legend = true, logY = false } = {}) {
    const old = plots.get(el);
    if (old) old.destroy();
    el.textContent = "";
    integerX = integerX && xs.every(Number.isInteger); // steps and indexes: no 0.2 ticks
    // A log scale has no place for zero or less: those points drop out of the line.
    if (logY) series = series.map((s) => ({ ...s, values: s.values.map((v) => (v > 0 ? v : null)) }));
    const opts = {
      width: Math.max(280, el.clientWidth || 460),
      height,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      axes: [{ label: xLabel, values: (u, ticks) => ticks.map(fmt), incrs: integerX ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] : undefined }, { values: (u, ticks) => ticks.map(fmt), size: 60 }],
      // A legend shows values only under the cursor: elsewhere blank, never a placeholder dash.
      series: [{ label: xLabel, value: (u, v) => legendValue(v) }].concat(series.map((s) => ({
        label: s.label,
        stroke: s.color || "#2f6fde",
        width: s.pointsOnly ? 0 : 1.6,
        dash: s.dash,
        spanGaps: true,
        value: (u, v) => legendValue(v),
        paths: s.pointsOnly ? () => null : undefined,
        points: { show: s.pointsOnly || xs.length <= 60, size: s.pointsOnly ? 7 : 5, fill: s.color || "#2f6fde" },
      }))),
      legend: { show: legend },
      cursor: { drag: { x: true, y: false } },
    };
    const plot = new uPlot(opts, [xs].concat(series.map((s) => s.values)), el);
    plots.set(el, plot);
    el.dataset.drawn = "true";
    el.dataset.points = String(xs.length);
    el.dataset.yScale = logY ? "log" : "linear";
    el.dataset.xLabel = xLabel;
    el.dataset.xMax = String(xs.reduce((a, b) => Math.max(a, b), -Infinity));
  }

  // Controls in a chart's caption: a log/linear y scale and, where points carry their time, an
  // x axis by step or by time. Each change redraws the chart from the data it already has.
  function chartControls(el, redraw, { canLog = true, xChoices = null } = {}) {
    const caption = el.closest("figure") && el.closest("figure").querySelector("figcaption");
    if (!caption) return;
    const old = caption.querySelector(".chart-controls");
    if (old) old.remove();
    const box = document.createElement("span");
    box.className = "chart-controls";
    const label = document.createElement("label");
    const log = document.createElement("input");
    log.type = "checkbox";
    log.className = "log-scale";
    log.checked = el.dataset.scale === "log";
    log.disabled = !canLog;
    label.title = canLog ? "y axis on a log scale" : "a log scale needs values above zero";
    log.addEventListener("change", () => { el.dataset.scale = log.checked ? "log" : "linear"; redraw(); });
    label.append(log, " log");
    box.append(label);
    if (xChoices) {
      const select = document.createElement("select");
      select.className = "x-axis";
      select.setAttribute("aria-label", "x axis");
      for (const [value, text, enabled] of xChoices) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = text;
        option.disabled = !enabled;
        select.append(option);
      }
      select.value = el.dataset.axis || xChoices[0][0];
      select.addEventListener("change", () => { el.dataset.axis = select.value; redraw(); });
      box.append(select);
    }
    caption.append(box);
  }

  function positive(values) {
    return values.some((v) => typeof v === "number" && v > 0);
  }

  function hue(i, n) {
    return `hsl(${Math.round((i * 360) / Math.max(1, n))}, 65%, 45%)`;
  }

  async function drawMetric(el) {
    try {
      const data = await getJSON(el.dataset.src);
      if (!data.x.length) return note(el, "no numeric values yet");
      const draw = () => {
        const byTime = el.dataset.axis === "time" && data.t;
        lineChart(el, byTime ? data.t : data.x, [{ label: data.name, values: data.y }],
          byTime ? "seconds since the run started" : data.x_label,
          { integerX: !byTime, logY: el.dataset.scale === "log" });
      };
      draw();
      chartControls(el, draw, {
        canLog: positive(data.y),
        xChoices: [[data.x_label, `by ${data.x_label}`, true], ["time", "by time", Boolean(data.t)]],
      });
      if (data.downsampled) el.title = `${data.count} values; the chart keeps each stretch's first, last, lowest and highest`;
    } catch (err) {
      note(el, `could not load the metric: ${err.message}`);
    }
  }

  // -- HyperDrive ---------------------------------------------------------------------------

  function drawBestSoFar(el, hd) {
    const trials = hd.trials;
    if (!trials.length) return note(el, "no trials yet");
    lineChart(el, trials.map((t) => t.index + 1), [
      { label: `best ${hd.primary_metric}`, values: hd.best_so_far, color: "#1f8a4c" },
      { label: hd.primary_metric, values: trials.map((t) => t.metric), color: "#8a94a6", pointsOnly: true },
    ], "trial", { integerX: true });
  }

  function colour(t) {
    // From blue (worst) through teal to amber (best): readable on white.
    const stops = [[49, 54, 149], [33, 144, 141], [94, 201, 98], [253, 174, 37]];
    const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i;
    const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  function axisFor(name, values) {
    const present = values.filter((v) => v !== null && v !== undefined && v !== "");
    const numeric = present.length > 0 && present.every((v) => typeof v === "number");
    if (!numeric) {
      const cats = Array.from(new Set(present.map(String))).sort();
      return { name, ticks: cats, pos: (v) => (cats.length < 2 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)) };
    }
    let lo = Math.min(...present), hi = Math.max(...present);
    const log = lo > 0 && hi / lo > 20;
    const f = log ? Math.log10 : (v) => v;
    if (lo === hi) { lo -= 1; hi += 1; }
    const a = f(lo), b = f(hi);
    const distinct = Array.from(new Set(present)).sort((p, q) => p - q);
    const ticks = distinct.length <= 6 ? distinct : [lo, log ? Math.pow(10, (a + b) / 2) : (lo + hi) / 2, hi];
    return { name, log, ticks, pos: (v) => (f(v) - a) / (b - a) };
  }

  function svg(tag, attrs, parent) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function drawParallel(el, hd) {
    const trials = hd.trials;
    if (!trials.length) return note(el, "no trials yet");
    el.textContent = "";
    const names = hd.parameters.concat([hd.primary_metric]);
    const axes = names.map((name, i) => axisFor(name, trials.map((t) => (i === names.length - 1 ? t.metric : t.hyperparameters[name]))));
    const width = Math.max(480, el.clientWidth || 640), height = 300;
    const left = 50, right = 150, top = 28, bottom = 24;
    const step = (width - left - right) / Math.max(1, names.length - 1);
    const x = (i) => left + i * step;
    const y = (p) => top + (1 - p) * (height - top - bottom);
    const root = svg("svg", { class: "pcoords", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "parallel coordinates" }, el);
    const scored = trials.filter((t) => t.metric !== null);
    const metricAxis = axes[axes.length - 1];
    const goodness = (t) => {
      if (t.metric === null) return null;
      const p = metricAxis.pos(t.metric);
      return hd.goal === "MAXIMIZE" ? p : 1 - p;
    };
    const ordered = trials.slice().sort((a, b) => (goodness(a) ?? -1) - (goodness(b) ?? -1));
    const lines = svg("g", { class: "lines" }, root);
    for (const t of ordered) {
      const pts = [];
      names.forEach((name, i) => {
        const v = i === names.length - 1 ? t.metric : t.hyperparameters[name];
        if (v !== null && v !== undefined) pts.push(`${x(i)},${y(axes[i].pos(v))}`);
      });
      if (pts.length < 2) continue;
      const g = goodness(t);
      const line = svg("polyline", {
        class: `line${t.early_terminated ? " early" : ""}${t.run_id === hd.best_run_id ? " best" : ""}`,
        points: pts.join(" "),
        stroke: g === null ? "#c3c9d3" : colour(scored.length > 1 ? g : 1),
        "data-run": t.run_id,
      }, lines);
      const title = svg("title", {}, line);
      title.textContent = `${t.run_id}${t.early_terminated ? " (early-terminated)" : ""}\n` +
        names.map((n, i) => `${n} = ${fmt(i === names.length - 1 ? t.metric : t.hyperparameters[n])}`).join("\n");
      line.addEventListener("click", () => { window.location.href = `/runs/${encodeURIComponent(t.run_id)}`; });
      line.style.cursor = "pointer";
    }
    axes.forEach((axis, i) => {
      const g = svg("g", { class: "axis" }, root);
      svg("line", { x1: x(i), x2: x(i), y1: top, y2: height - bottom }, g);
      const label = svg("text", { x: x(i), y: top - 12, "text-anchor": "middle", "font-weight": i === axes.length - 1 ? 700 : 400 }, g);
      label.textContent = axis.name + (axis.log ? " (log)" : "");
      for (const tick of axis.ticks) {
        const t = svg("text", { class: "tick", x: x(i) + 5, y: y(axis.pos(tick)) + 3 }, g);
        t.textContent = fmt(tick);
      }
    });
    if (scored.length) colourScale(root, scored.map((t) => t.metric), hd, { x: width - 80, top, bottom: height - bottom });
    el.dataset.drawn = "true";
    el.dataset.lines = String(lines.childNodes.length);
  }

  let scales = 0;

  // The legend of the lines' colours: a bar from the worst primary-metric value (bottom) to the
  // best (top), in the colours the lines are drawn in.
  function colourScale(root, metrics, hd, { x, top, bottom }) {
    const id = `pcoords-scale-${++scales}`;
    const defs = svg("defs", {}, root);
    const gradient = svg("linearGradient", { id, x1: 0, y1: 1, x2: 0, y2: 0 }, defs);
    for (let i = 0; i <= 4; i++) svg("stop", { offset: i / 4, "stop-color": colour(i / 4) }, gradient);
    const best = hd.goal === "MAXIMIZE" ? Math.max(...metrics) : Math.min(...metrics);
    const worst = hd.goal === "MAXIMIZE" ? Math.min(...metrics) : Math.max(...metrics);
    const g = svg("g", { class: "colour-scale", "data-best": best, "data-worst": worst }, root);
    const title = svg("text", { class: "scale-title", x: x + 6, y: top - 12, "text-anchor": "middle" }, g);
    title.textContent = `${hd.primary_metric}`;
    svg("rect", { class: "scale-bar", x, y: top, width: 12, height: bottom - top, fill: `url(#${id})` }, g);
    const high = svg("text", { class: "scale-best", x: x + 17, y: top + 9 }, g);
    high.textContent = `${fmt(best)} best`;
    const low = svg("text", { class: "scale-worst", x: x + 17, y: bottom }, g);
    low.textContent = fmt(worst);
  }

  async function drawHyperdrive(els) {
    const byUrl = new Map();
    els.forEach((el) => { const list = byUrl.get(el.dataset.hyperdrive) || []; list.push(el); byUrl.set(el.dataset.hyperdrive, list); });
    for (const [url, group] of byUrl) {
      try {
        const hd = await getJSON(url);
        for (const el of group) (el.classList.contains("parallel") ? drawParallel : drawBestSoFar)(el, hd);
      } catch (err) {
        group.forEach((el) => note(el, `could not load the sweep: ${err.message}`));
      }
    }
  }

  async function drawCurves(el) {
    try {
      const data = await getJSON(el.dataset.curves);
      if (data.x.length < 2) {
        // Trials that log their metric once have no curve: the other charts say it all.
        const figure = el.closest("figure");
        if (figure && !data.trials.some((t) => t.status === "Running")) figure.hidden = true;
        el.dataset.drawn = "skipped";
        return note(el, "each trial logged one value so far");
      }
      const n = data.trials.length;
      const draw = () => lineChart(el, data.x, data.trials.map((t) => ({
        label: `trial ${t.index + 1}`,
        values: t.y,
        color: hue(t.index, n),
        dash: t.early_terminated ? [5, 4] : undefined,
      })), data.x_label, { height: 260, legend: n <= 12, integerX: true, logY: el.dataset.scale === "log" });
      draw();
      chartControls(el, draw, { canLog: data.trials.some((t) => positive(t.y)) });
      el.dataset.trials = String(n);
    } catch (err) {
      note(el, `could not load the trials: ${err.message}`);
    }
  }

  async function drawCompare(container) {
    try {
      const data = await getJSON(container.dataset.compare);
      const names = new Map(data.runs.map((r, i) => [r.id, { label: `${r.label} ${r.title}`, i }]));
      const n = data.runs.length;
      for (const s of data.series) {
        const el = Array.from(container.querySelectorAll(".compare-chart")).find((e) => e.dataset.metric === s.name);
        if (!el) continue;
        const draw = () => lineChart(el, s.x, s.runs.map((line) => {
          const run = names.get(line.run_id);
          return { label: run.label, values: line.y, color: hue(run.i, n) };
        }), s.x_label, { legend: n <= 8, integerX: true, logY: el.dataset.scale === "log" });
        draw();
        chartControls(el, draw, { canLog: s.runs.some((line) => positive(line.y)) });
        el.dataset.lines = String(s.runs.length);
      }
    } catch (err) {
      note(container, `could not load the comparison: ${err.message}`);
    }
  }

  // -- the pipeline graph -------------------------------------------------------------------

  // The server places nodes in columns with a narrow gap; here the gaps widen to hold each edge
  // label and then to fill the box the graph sits in, node names are shortened to fit their box,
  // and labels that share a gap are moved apart so none overlaps another.
  const MIN_GAP = 80, MAX_GAP = 360, LABEL_PAD = 28, MIN_NODE = 120;

  function fitGraph(root) {
    const nodes = new Map(Array.from(root.querySelectorAll("g.node")).map((g) => [g.dataset.step, g]));
    if (!nodes.size) return;
    const margin = Number(root.dataset.margin || 16);
    const num = (g, k) => Number(g.dataset[k]);
    const columns = Math.max(...Array.from(nodes.values(), (g) => num(g, "col"))) + 1;
    const widest = Math.max(...Array.from(nodes.values(), (g) => num(g, "w")));
    const labels = Array.from(root.querySelectorAll("text.edge-label")).filter((l) => nodes.has(l.dataset.source) && nodes.has(l.dataset.target));
    // A label sits in the gap just left of its target.
    const gapOf = (l) => num(nodes.get(l.dataset.target), "col") - 1;
    const gaps = new Array(Math.max(0, columns - 1)).fill(MIN_GAP);
    for (const l of labels) {
      const i = gapOf(l);
      if (i >= 0) gaps[i] = Math.max(gaps[i], l.getComputedTextLength() + LABEL_PAD);
    }
    const wrap = root.parentElement;
    const style = getComputedStyle(wrap);
    const room = wrap.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const labelled = gaps.reduce((a, b) => a + b, 0);
    // Nodes narrow (down to MIN_NODE) before the graph grows wider than its box.
    const nodeW = Math.min(widest, Math.max(MIN_NODE, Math.floor((room - 2 * margin - labelled) / columns)));
    for (const g of nodes.values()) {
      const rect = g.querySelector("rect");
      rect.setAttribute("width", nodeW);
      const mark = g.querySelector(".reuse-mark");
      if (mark) mark.setAttribute("x", num(g, "x") + nodeW - 10);
      // A name wider than its box loses its middle, not its end (the tooltip has it whole).
      const text = g.querySelector(".node-label");
      const full = g.dataset.label || text.textContent;
      text.textContent = full;
      for (let keep = full.length - 1; keep > 4 && text.getComputedTextLength() > nodeW - 24; keep--) {
        text.textContent = `${full.slice(0, Math.ceil(keep / 2))}…${full.slice(full.length - Math.floor(keep / 2))}`;
      }
    }
    const natural = 2 * margin + columns * nodeW + labelled;
    if (gaps.length && room > natural) { // spread the spare width over the gaps, up to a limit
      let spare = room - natural;
      for (let pass = 0; pass < 4 && spare > 1; pass++) {
        const open = gaps.filter((g) => g < MAX_GAP).length;
        if (!open) break;
        const share = spare / open;
        gaps.forEach((g, i) => { if (g < MAX_GAP) { const add = Math.min(share, MAX_GAP - g); gaps[i] += add; spare -= add; } });
      }
    }
    const left = [margin];
    for (let i = 1; i < columns; i++) left.push(left[i - 1] + nodeW + gaps[i - 1]);
    const place = new Map();
    for (const [id, g] of nodes) {
      const x = left[num(g, "col")];
      g.setAttribute("transform", `translate(${x - num(g, "x")},0)`);
      place.set(id, { x, y: num(g, "y"), w: nodeW, h: num(g, "h") });
    }
    const curve = (a, b) => {
      const s = [a.x + a.w, a.y + a.h / 2], e = [b.x, b.y + b.h / 2], mid = (s[0] + e[0]) / 2;
      return { s, e, mid };
    };
    root.querySelectorAll("path.edge").forEach((path) => {
      const a = place.get(path.dataset.source), b = place.get(path.dataset.target);
      if (!a || !b) return;
      const { s, e, mid } = curve(a, b);
      path.setAttribute("d", `M ${s[0]} ${s[1]} C ${mid} ${s[1]}, ${mid} ${e[1]}, ${e[0]} ${e[1]}`);
    });
    // Each label at the middle of its gap, on its edge; then, gap by gap, moved apart downwards.
    const byGap = new Map();
    for (const l of labels) {
      const a = place.get(l.dataset.source), b = place.get(l.dataset.target);
      const { s, e } = curve(a, b);
      const x = b.x - gaps[Math.max(0, gapOf(l))] / 2;
      // The curve's y where it crosses x (its x grows with t): a few halvings find t.
      let lo = 0, hi = 1;
      const at = (t, p0, p1, p2, p3) => ((1 - t) ** 3) * p0 + 3 * ((1 - t) ** 2) * t * p1 + 3 * (1 - t) * t * t * p2 + t ** 3 * p3;
      const mid = (s[0] + e[0]) / 2;
      for (let k = 0; k < 30; k++) { const t = (lo + hi) / 2; if (at(t, s[0], mid, mid, e[0]) < x) lo = t; else hi = t; }
      const y = at(lo, s[1], s[1], e[1], e[1]);
      l.setAttribute("x", x);
      l.setAttribute("y", y - 5);
      const list = byGap.get(gapOf(l)) || [];
      list.push(l);
      byGap.set(gapOf(l), list);
    }
    let bottom = Number(root.getAttribute("height"));
    for (const list of byGap.values()) {
      list.sort((p, q) => Number(p.getAttribute("y")) - Number(q.getAttribute("y")));
      let floor = -Infinity;
      for (const l of list) {
        const box = l.getBBox();
        const shift = Math.max(0, floor + 2 - box.y);
        if (shift) l.setAttribute("y", Number(l.getAttribute("y")) + shift);
        floor = box.y + shift + box.height;
        bottom = Math.max(bottom, floor + 4);
      }
    }
    const width = left[columns - 1] + nodeW + margin;
    root.setAttribute("width", width);
    root.setAttribute("height", bottom);
    root.setAttribute("viewBox", `0 0 ${width} ${bottom}`);
    root.dataset.fitted = String(Math.round(width));
  }

  // -- sortable tables ----------------------------------------------------------------------

  function sortable(table) {
    table.querySelectorAll("th[data-sort]").forEach((th, column) => {
      th.addEventListener("click", () => {
        const ascending = !th.classList.contains("asc");
        table.querySelectorAll("th[data-sort]").forEach((h) => h.classList.remove("asc", "desc"));
        th.classList.add(ascending ? "asc" : "desc");
        const body = table.tBodies[0];
        const key = (row) => {
          const cell = row.cells[column];
          const raw = cell ? (cell.dataset.value ?? cell.textContent.trim()) : "";
          const n = parseFloat(raw);
          return raw === "" ? null : Number.isNaN(n) || th.dataset.sort === "text" ? raw : n;
        };
        const rows = Array.from(body.rows).filter((r) => r.cells.length > 1);
        rows.sort((a, b) => {
          const p = key(a), q = key(b);
          if (p === null) return q === null ? 0 : 1;
          if (q === null) return -1;
          const c = typeof p === "number" && typeof q === "number" ? p - q : String(p).localeCompare(String(q));
          return ascending ? c : -c;
        });
        rows.forEach((r) => body.appendChild(r));
      });
    });
  }

  // -- live refresh -------------------------------------------------------------------------

  function init(root) {
    root.querySelectorAll(".metric-chart[data-src]").forEach(drawMetric);
    root.querySelectorAll(".trial-curves[data-curves]").forEach(drawCurves);
    root.querySelectorAll("[data-compare]").forEach(drawCompare);
    const hd = root.querySelectorAll("[data-hyperdrive]");
    if (hd.length) drawHyperdrive(Array.from(hd));
    root.querySelectorAll("table.sortable-table").forEach(sortable);
    root.querySelectorAll("svg.graph").forEach(fitGraph);
  }

  async function refreshRegions() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return true;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-region]").forEach((old) => {
      const replacement = fresh.getElementById(old.id);
      if (!replacement) return;
      // Boxes a person ticked (runs picked to compare) stay ticked across the refresh.
      const ticked = new Set(Array.from(old.querySelectorAll("input[type=checkbox]:checked")).map((i) => `${i.name}=${i.value}`));
      const adopted = document.importNode(replacement, true);
      adopted.querySelectorAll("input[type=checkbox]").forEach((i) => { if (ticked.has(`${i.name}=${i.value}`)) i.checked = true; });
      old.replaceWith(adopted);
      init(adopted);
    });
    return fresh.body.dataset.live === "true" || fresh.body.dataset.refresh !== undefined;
  }

  function followRun(runId) {
    let version = null;
    const timer = setInterval(async () => {
      try {
        const state = await getJSON(`/api/runs/${encodeURIComponent(runId)}/state`);
        if (version !== null && state.version !== version) {
          const stillLive = await refreshRegions();
          if (!stillLive && !state.active) clearInterval(timer);
        }
        version = state.version;
      } catch (err) { /* a missed poll is retried on the next tick */ }
    }, 2000);
  }

  function followLog(pre) {
    let offset = Number(pre.dataset.offset || 0);
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const chunk = await getJSON(`${pre.dataset.log}?offset=${offset}`);
        if (chunk.text) {
          const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 24;
          pre.appendChild(document.createTextNode(chunk.text));
          offset = chunk.offset;
          pre.dataset.offset = String(offset);
          if (atBottom) pre.scrollTop = pre.scrollHeight;
        } else if (!chunk.active) {
          clearInterval(timer);
          pre.dataset.follow = "ended";
        }
      } catch (err) { /* retried on the next tick */ } finally { busy = false; }
    }, 1000);
  }

  function duration(seconds) {
    if (seconds < 60) return `${seconds.toFixed(1)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} m ${Math.floor(seconds % 60)} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} m`;
  }

  function tickDurations() {
    document.querySelectorAll("[data-running-since]").forEach((el) => {
      el.textContent = duration(Date.now() / 1000 - Number(el.dataset.runningSince));
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    init(document);
    setInterval(tickDurations, 1000);
    const body = document.body;
    if (body.dataset.run && body.dataset.live === "true") followRun(body.dataset.run);
    const log = document.getElementById("log");
    if (log && log.dataset.follow === "true") {
      log.scrollTop = log.scrollHeight;
      followLog(log);
    } else if (log) {
      log.scrollTop = log.scrollHeight;
    }
    if (body.dataset.refresh) {
      const timer = setInterval(async () => { if (!(await refreshRegions())) clearInterval(timer); }, Number(body.dataset.refresh));
    }
    let resize = null;
    window.addEventListener("resize", () => {
      clearTimeout(resize);
      resize = setTimeout(() => {
        plots.forEach((plot, el) => plot.setSize({ width: Math.max(280, el.clientWidth), height: plot.height }));
        document.querySelectorAll("svg.graph").forEach(fitGraph);
      }, 150);
    });
  });
})();
