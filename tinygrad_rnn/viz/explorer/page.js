// The gradient explorer's script: plain JavaScript, no library. The page holds its data in the
// block #explorer-data (made by tinygrad_rnn.viz.explorer, gzip-compressed JSON): one entry per run
// with the tracer's numbers per step, the graphs as SVG text, and what each drawn node and edge
// stands for.
// One state, {run, step}; choosing either redraws every view from it.
"use strict";

// The data is gzip-compressed JSON in base64 (the SVG text shrinks about tenfold); the browser's
// own DecompressionStream unpacks it.
async function loadData() {
  const block = document.getElementById("explorer-data");
  if (typeof DecompressionStream === "undefined") {
    throw new Error("this browser cannot unpack the page's data (no DecompressionStream); open the page in a current Chromium, Firefox or Safari");
  }
  const bytes = Uint8Array.from(atob(block.textContent.trim()), (ch) => ch.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
}

loadData().then(start).catch((error) => {
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = "The explorer could not start: " + error.message;
  document.body.prepend(p);
  console.error(error);
});

function start(DATA) {
  const RUNS = DATA.runs;
  const state = { run: 0, step: RUNS[0].T - 1 };
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";

  // ---------------------------------------------------------------------------------------
  // Numbers and colours

  function fmt(v) {
    if (v === null || v === undefined) return "\u2013";
    if (typeof v === "string") return v; // 'inf', 'nan'
    if (v === 0) return "0";
    const a = Math.abs(v);
    return a >= 1e-3 && a < 1e4 ? v.toPrecision(4) : v.toExponential(3);
  }

  function decodeFloat32(b64) {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    return new Float32Array(bytes.buffer);
  }

  // viridis (the static heatmap's colour map), as 9 stops interpolated linearly
  const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
  function viridis(u) {
    const x = Math.min(Math.max(u, 0), 1) * (VIRIDIS.length - 1);
    const k = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - k;
    const c = VIRIDIS[k].map((v, i) => Math.round(v + f * (VIRIDIS[k + 1][i] - v)));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  const run = () => RUNS[state.run];
  const lagOf = (t) => run().T - 1 - t;

  // ---------------------------------------------------------------------------------------
  // The tooltip, for the mouse and for keyboard focus

  const tip = $("tooltip");
  function showTip(content, x, y) {
    tip.innerHTML = content;
    tip.hidden = false;
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = Math.min(x + 14, window.innerWidth - w - 8) + "px";
    tip.style.top = (y + 14 + h > window.innerHeight ? y - h - 10 : y + 14) + "px";
  }
  function hideTip() { tip.hidden = true; }
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const rows = (pairs) => "<table>" + pairs.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join("") + "</table>";

  function statsRows(v) {
    return v ? [["min / mean / max", `${fmt(v[0])} / ${fmt(v[1])} / ${fmt(v[2])}`], ["std", fmt(v[3])]] : [];
  }

  function cellTip(t, name) {
    const r = run(), pairs = [["time step", `t = ${t} (lag ${lagOf(t)})`]];
    r.states.forEach((s, k) => pairs.push([`|dL/d${r.stateNames[k]}_t| (tracer)`, `<span class="grad">${fmt(r.norm[s][t])}</span>`]));
    if (r.carousel) pairs.push([`carousel share of dL/d${r.carouselState}_(t-1)`, fmt(r.carousel[t])]);
    for (const name of r.names) {
      const v = r.values[name][t];
      if (v) pairs.push([`${name} mean`, fmt(v[1])]);
    }
    return `<b>${esc(name)}, t=${t}</b>` + rows(pairs);
  }

  function infoTip(info) {
    if (info.k === "cell") return cellTip(info.t, info.n);
    if (info.k === "ops") return `<b>${esc(info.n)}</b>outside the time steps (the loss)`;
    const pairs = [];
    if (info.s) pairs.push(["shape", esc(info.s) + (info.d ? " " + info.d : "")]);
    if (info.t !== null && info.t !== undefined) pairs.push(["time step", info.t]);
    pairs.push(...statsRows(info.v));
    const gradName = info.k === "op" ? "|dL/d(result)|" : info.k === "edge" ? "|gradient| along the edge" : "|dL/d tensor|";
    pairs.push([gradName, info.g === null ? "not kept" : `<span class="grad">${fmt(info.g)}</span>`]);
    const kind = info.k === "op" ? " (op)" : info.k === "edge" ? " (edge)" : "";
    return `<b>${esc(info.n)}${kind}</b>` + rows(pairs);
  }

  // Tooltips and clicks in a drawing: one listener per container, finding the tagged element.
  function drawingInfo(drawing, target) {
    const g = target.closest("g.node, g.edge");
    if (!g) return null;
    const key = g.dataset.key;
    if (g.classList.contains("node")) return drawing.nodes[key] || null;
    const e = drawing.edges[key];
    return e ? Object.assign({ k: "edge" }, e) : null;
  }

  function wireDrawing(container, drawingOf, onClick) {
    container.addEventListener("mousemove", (ev) => {
      const info = drawingInfo(drawingOf(), ev.target);
      if (info) showTip(infoTip(info), ev.clientX, ev.clientY); else hideTip();
    });
    container.addEventListener("mouseleave", hideTip);
    container.addEventListener("click", (ev) => {
      const info = drawingInfo(drawingOf(), ev.target);
      if (info && onClick) onClick(info);
    });
    container.addEventListener("focusin", (ev) => {
      const info = drawingInfo(drawingOf(), ev.target);
      if (!info) return;
      const box = ev.target.getBoundingClientRect();
      showTip(infoTip(info), box.left, box.bottom);
    });
    container.addEventListener("focusout", hideTip);
  }

  // Thin edges are hard to point at: each gets a wide transparent copy of its path.
  function widenEdges(svg) {
    for (const path of svg.querySelectorAll("g.edge > path")) {
      const hit = path.cloneNode(false);
      hit.setAttribute("class", "hit");
      path.parentNode.insertBefore(hit, path);
    }
  }

  // ---------------------------------------------------------------------------------------
  // View 1: the unrolled graph at cell level

  function drawCellGraph() {
    const box = $("cell-graph");
    box.innerHTML = run().cellGraph.svg;
    widenEdges(box);
  }

  function highlightCell(t) {
    const box = $("cell-graph"), nodes = run().cellGraph.nodes;
    let chosen = null;
    for (const g of box.querySelectorAll("g.node")) {
      const info = nodes[g.dataset.key];
      const on = !!info && info.k === "cell" && info.t === t;
      g.classList.toggle("selected", on);
      if (on) chosen = g;
    }
    box.dataset.selectedStep = t;
    if (chosen) { // bring the chosen box into view inside the scrolling panel only
      const b = chosen.getBoundingClientRect(), c = box.getBoundingClientRect();
      box.scrollLeft += b.left + b.width / 2 - (c.left + c.width / 2);
      box.scrollTop += b.top + b.height / 2 - (c.top + c.height / 2);
    }
  }

  // ---------------------------------------------------------------------------------------
  // View 2: heatmaps of |dL/dh_t| (and |dL/dc_t|), time across, units up

  let heatmaps = [];

  function drawHeatmaps() {
    const r = run(), box = $("heatmaps");
    box.innerHTML = "";
    heatmaps = r.states.map((s, k) => {
      const name = r.stateNames[k];
      const values = decodeFloat32(r.heat[s]);
      let top = 0, low = Infinity;
      for (const v of values) { if (v > top) top = v; if (v > 0 && v < low) low = v; }
      if (!(top > 0)) { top = 1; low = 1; }
      const floor = Math.max(low, top * 1e-12);
      const title = document.createElement("div");
      title.className = "heat-title";
      title.textContent = `|dL/d${name}_t| of each unit (batch element ${r.batch}), ${r.T} steps \u00d7 ${r.H} units`;
      const canvas = document.createElement("canvas");
      canvas.tabIndex = 0;
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `heatmap of |dL/d${name}_t|; click a column to choose the step`);
      canvas.dataset.state = s;
      const cellH = Math.max(4, Math.min(14, Math.floor(180 / r.H)));
      // As many canvas pixels as screen pixels, so that the outline of the chosen step stays sharp.
      canvas.width = Math.max(r.T, Math.round((box.clientWidth || 600) * (window.devicePixelRatio || 1)));
      canvas.height = r.H * cellH;
      canvas.style.height = canvas.height + "px";
      const image = document.createElement("canvas"); // the colours, drawn once
      image.width = canvas.width; image.height = canvas.height;
      const ctx = image.getContext("2d"), dx = canvas.width / r.T;
      const span = Math.log10(top) - Math.log10(floor) || 1;
      for (let t = 0; t < r.T; t++) {
        for (let u = 0; u < r.H; u++) {
          const v = values[t * r.H + u];
          ctx.fillStyle = v > 0 ? viridis((Math.log10(Math.max(v, floor)) - Math.log10(floor)) / span) : viridis(0);
          ctx.fillRect(Math.floor(t * dx), (r.H - 1 - u) * cellH, Math.ceil(dx), cellH); // unit 0 at the bottom
        }
      }
      const bar = document.createElement("div");
      bar.className = "colorbar";
      bar.innerHTML = `<span>${fmt(floor)}</span><span class="bar" style="background:linear-gradient(to right,${
        VIRIDIS.map((c) => `rgb(${c})`).join(",")})"></span><span>${fmt(top)}</span>`;
      const axis = document.createElement("div");
      axis.className = "axis-note";
      axis.innerHTML = `<span>t = 0</span><span>time step \u2192 (the loss at the last step)</span><span>t = ${r.T - 1}</span>`;
      box.append(title, canvas, axis, bar);
      const map = { s, values, canvas, image, cellH };
      const where = (ev) => {
        const b = canvas.getBoundingClientRect();
        const t = Math.min(r.T - 1, Math.max(0, Math.floor((ev.clientX - b.left) / b.width * r.T)));
        const u = Math.min(r.H - 1, Math.max(0, r.H - 1 - Math.floor((ev.clientY - b.top) / b.height * r.H)));
        return [t, u];
      };
      canvas.addEventListener("mousemove", (ev) => {
        const [t, u] = where(ev);
        showTip(`<b>|dL/d${name}_t| at t=${t}, unit ${u}</b>` + rows([["value", fmt(values[t * r.H + u])],
          [`|dL/d${name}_t| all units (tracer)`, fmt(r.norm[s][t])], ["lag", lagOf(t)]]), ev.clientX, ev.clientY);
      });
      canvas.addEventListener("mouseleave", hideTip);
      canvas.addEventListener("click", (ev) => choose(where(ev)[0]));
      return map;
    });
  }

  function highlightHeatmaps(t) {
    for (const m of heatmaps) {
      const ctx = m.canvas.getContext("2d"), dx = m.canvas.width / run().T;
      ctx.clearRect(0, 0, m.canvas.width, m.canvas.height);
      ctx.drawImage(m.image, 0, 0);
      // The canvas is stretched to the panel's width: lines of 2 screen pixels, in canvas pixels.
      const px = m.canvas.width / (m.canvas.getBoundingClientRect().width || m.canvas.width);
      const x = Math.floor(t * dx), w = Math.max(Math.ceil(dx), 2 * px);
      ctx.lineWidth = 2 * px;
      ctx.strokeStyle = "#fff"; ctx.strokeRect(x - 3 * px, px, w + 6 * px, m.canvas.height - 2 * px);
      ctx.strokeStyle = "#000"; ctx.strokeRect(x - px, px, w + 2 * px, m.canvas.height - 2 * px);
      m.canvas.dataset.selectedStep = t;
    }
  }

  // ---------------------------------------------------------------------------------------
  // View 3: ||dL/dh_t|| (and ||dL/dc_t||) against the lag T-1-t, log scale, every run

  const PLOT = { w: 560, h: 330, left: 62, right: 14, top: 14, bottom: 44 };
  let plot = null;

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }

  function drawPlot() {
    const box = $("plot");
    box.innerHTML = "";
    const svg = el("svg", { viewBox: `0 0 ${PLOT.w} ${PLOT.h}`, role: "img",
      "aria-label": "gradient norm against time lag, log scale" }, box);
    let lo = Infinity, hi = 0, maxLag = 1;
    for (const r of RUNS) {
      maxLag = Math.max(maxLag, r.T - 1);
      for (const s of r.states) for (const v of r.norm[s]) if (typeof v === "number" && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
    if (!(hi > 0)) { lo = 1e-3; hi = 1; }
    const d0 = Math.floor(Math.log10(lo)), d1 = Math.max(Math.ceil(Math.log10(hi)), d0 + 1);
    const X = (lag) => PLOT.left + (PLOT.w - PLOT.left - PLOT.right) * lag / maxLag;
    const Y = (v) => PLOT.top + (PLOT.h - PLOT.top - PLOT.bottom) * (d1 - Math.log10(v)) / (d1 - d0);
    const every = Math.ceil((d1 - d0) / 8);
    for (let d = d0; d <= d1; d += every) { // decades
      el("line", { x1: PLOT.left, x2: PLOT.w - PLOT.right, y1: Y(10 ** d), y2: Y(10 ** d), stroke: "#e2e2e2" }, svg);
      el("text", { x: PLOT.left - 6, y: Y(10 ** d) + 4, "text-anchor": "end" }, svg).textContent = `1e${d}`;
    }
    const ticks = 6;
    for (let k = 0; k <= ticks; k++) {
      const lag = Math.round(maxLag * k / ticks);
      el("text", { x: X(lag), y: PLOT.h - PLOT.bottom + 16, "text-anchor": "middle" }, svg).textContent = lag;
    }
    el("text", { x: (PLOT.left + PLOT.w) / 2, y: PLOT.h - 6, "text-anchor": "middle" }, svg).textContent =
      "time lag T-1-t (steps back from the loss)";
    el("rect", { x: PLOT.left, y: PLOT.top, width: PLOT.w - PLOT.left - PLOT.right,
      height: PLOT.h - PLOT.top - PLOT.bottom, fill: "none", stroke: "#999" }, svg);
    RUNS.forEach((r, k) => {
      const color = DATA.colors[k % DATA.colors.length];
      for (const s of r.states) {
        let d = "", pen = false;
        r.norm[s].forEach((v, t) => {
          if (typeof v === "number" && v > 0) { d += `${pen ? "L" : "M"}${X(r.T - 1 - t).toFixed(1)},${Y(v).toFixed(1)}`; pen = true; } else pen = false;
        });
        el("path", { d, fill: "none", stroke: color, "stroke-width": k === state.run ? 3 : 1.5,
          "stroke-dasharray": s === "c" ? "6 4" : "none", opacity: k === state.run ? 1 : 0.45, "data-run": k, "data-state": s }, svg);
      }
    });
    const legend = document.createElement("ul");
    legend.className = "plot-legend";
    legend.innerHTML = RUNS.map((r, k) => `<li class="${k === state.run ? "current" : ""}"><span class="line" style="border-color:${
      DATA.colors[k % DATA.colors.length]}"></span>${esc(r.label)}${r.states.length > 1 ? `: ${r.stateNames[0]} solid, ${r.stateNames[1]} dashed` : ""}</li>`).join("");
    box.appendChild(legend);
    const marker = el("g", { "data-role": "marker" }, svg);
    el("line", { y1: PLOT.top, y2: PLOT.h - PLOT.bottom, stroke: "#000", "stroke-width": 1.5, "stroke-dasharray": "3 3" }, marker);
    el("circle", { r: 5, fill: "#000" }, marker);
    plot = { svg, X, Y, maxLag, marker };
    const lagAt = (ev) => {
      const p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
      const q = p.matrixTransform(svg.getScreenCTM().inverse());
      const lag = Math.round((q.x - PLOT.left) / (PLOT.w - PLOT.left - PLOT.right) * maxLag);
      return Math.min(run().T - 1, Math.max(0, lag));
    };
    svg.addEventListener("mousemove", (ev) => {
      const lag = lagAt(ev), t = run().T - 1 - lag, r = run();
      showTip(`<b>${esc(r.label)}: lag ${lag} (t = ${t})</b>` + rows(r.states.map((s, k) => [`|dL/d${r.stateNames[k]}_t| (tracer)`, fmt(r.norm[s][t])])),
        ev.clientX, ev.clientY);
    });
    svg.addEventListener("mouseleave", hideTip);
    svg.addEventListener("click", (ev) => choose(run().T - 1 - lagAt(ev)));
  }

  function highlightPlot(t) {
    const r = run(), lag = r.T - 1 - t, v = r.norm.h[t];
    const x = plot.X(lag);
    const [line, dot] = plot.marker.children;
    line.setAttribute("x1", x); line.setAttribute("x2", x);
    dot.setAttribute("cx", x);
    dot.setAttribute("cy", typeof v === "number" && v > 0 ? plot.Y(v) : PLOT.h - PLOT.bottom);
    plot.marker.dataset.step = t;
  }

  // ---------------------------------------------------------------------------------------
  // View 4: the chosen step's ops, and a table of its gates and states

  function drawStep(t) {
    const r = run(), detail = r.details[String(t)];
    $("step-title").textContent = `Step t = ${t} (lag ${lagOf(t)}) of ${r.label}: its ops, gates and gradients`;
    const box = $("step-graph");
    box.dataset.step = t;
    if (detail) {
      box.innerHTML = detail.svg;
      widenEdges(box);
      for (const g of box.querySelectorAll("g.node")) if (detail.nodes[g.dataset.key]) g.setAttribute("tabindex", "0");
      $("detail-note").textContent = r.detailSteps.length < r.T
        ? `Op-level drawings are made for ${r.detailSteps.length} of the ${r.T} steps: t = ${r.detailSteps.join(", ")}.` : "";
    } else {
      box.innerHTML = `<p style="padding:0.5rem">No op-level drawing of step ${t}: to keep the page small, they were made for ` +
        `steps ${r.detailSteps.join(", ")} only (explore(..., detail_steps=[...]) picks others). ` +
        `The table and the other views show every step.</p>`;
      $("detail-note").textContent = "";
    }
    const head = $("gates").tHead, body = $("gates").tBodies[0];
    head.innerHTML = "<tr><th>tensor</th><th>min</th><th>mean</th><th>max</th><th>|dL/d tensor|</th></tr>";
    body.innerHTML = r.names.map((name) => {
      const v = r.values[name][t];
      const kind = r.stateNames.some((s) => name === s + "_t") ? "state" : "gate";
      return v ? `<tr class="${kind}"><td>${esc(name)}</td><td>${fmt(v[0])}</td><td>${fmt(v[1])}</td><td>${fmt(v[2])}</td><td>${fmt(v[3])}</td></tr>` : "";
    }).join("");
  }

  // ---------------------------------------------------------------------------------------
  // Choosing a run and a step

  function choose(t) {
    const r = run();
    state.step = Math.min(r.T - 1, Math.max(0, t));
    const slider = $("step");
    slider.value = state.step;
    $("step-label").textContent = `t = ${state.step} (lag ${lagOf(state.step)})`;
    slider.setAttribute("aria-valuetext", $("step-label").textContent);
    highlightCell(state.step);
    highlightHeatmaps(state.step);
    highlightPlot(state.step);
    drawStep(state.step);
  }

  function chooseRun(k) {
    state.run = k;
    const r = run();
    for (const b of $("runs").children) b.setAttribute("aria-pressed", String(Number(b.dataset.run) === k));
    const cut = r.bptt ? `, truncated BPTT every ${r.bptt} steps` : "";
    const h = r.stateNames[0];
    $("summary").textContent = `${r.cell}: T = ${r.T} steps, batch ${r.N}, hidden size ${r.H}, loss ${fmt(r.loss)}` +
      `${cut}. ||dL/d${h}_t|| at t = 0 is ${fmt(r.norm.h[0])}, at the last step ${fmt(r.norm.h[r.T - 1])}.`;
    $("step").max = r.T - 1;
    drawCellGraph();
    drawHeatmaps();
    drawPlot();
    choose(Math.min(state.step, r.T - 1));
  }

  RUNS.forEach((r, k) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = r.label;
    b.dataset.run = k;
    b.style.setProperty("--run-color", DATA.colors[k % DATA.colors.length]);
    b.addEventListener("click", () => chooseRun(k));
    $("runs").appendChild(b);
  });
  if (RUNS.length < 2) $("runs").hidden = true;

  wireDrawing($("cell-graph"), () => run().cellGraph, (info) => { if (info.k === "cell") choose(info.t); });
  wireDrawing($("step-graph"), () => run().details[String(state.step)] || { nodes: {}, edges: {} }, null);
  for (const button of document.querySelectorAll("button.fit")) { // drawings at 100% or fitted to the panel
    button.addEventListener("click", () => {
      const box = $(button.dataset.target), fit = box.classList.toggle("fitted");
      button.setAttribute("aria-pressed", String(fit));
      button.textContent = fit ? "100%" : "fit to width";
    });
  }
  $("step").addEventListener("input", (ev) => choose(Number(ev.target.value)));
  $("prev").addEventListener("click", () => choose(state.step - 1));
  $("next").addEventListener("click", () => choose(state.step + 1));
  document.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.target === $("step") && !ev.shiftKey) return; // the slider moves itself and fires "input"
    const moves = { ArrowLeft: -1, ArrowRight: 1 };
    if (ev.key in moves && !(ev.target.tagName === "INPUT" && ev.target !== $("step"))) {
      choose(state.step + moves[ev.key] * (ev.shiftKey ? 10 : 1));
    } else if (ev.key === "Home") {
      choose(0);
    } else if (ev.key === "End") {
      choose(run().T - 1);
    } else if (/^[1-9]$/.test(ev.key) && Number(ev.key) <= RUNS.length) {
      chooseRun(Number(ev.key) - 1);
    } else if (ev.key === "Escape") {
      hideTip();
      return;
    } else {
      return;
    }
    ev.preventDefault();
  });
  chooseRun(0);
  document.body.dataset.ready = "true"; // for tests: every view is drawn
}
