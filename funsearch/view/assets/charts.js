// charts.js: small SVG charts drawn by hand: lines (step or straight) with intervals and linked points, and bars.

function niceTicks(lo, hi, n) {
  if (!(hi > lo)) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
  const raw = (hi - lo) / (n || 5), mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) { const v = m * Math.pow(10, e); if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v); }
  }
  return out.length >= 2 ? out : [lo, hi];
}

// opts: {series: [{name, colour, step, dash, points: [{x, y, lo, hi, href, title}]}], xLabel, yLabel, logX,
//        width, height, title}. Points with href become links ('#/run/<cell>'); every point has a tooltip.
function lineChart(opts) {
  const W = opts.width || 440, m = {l: 62, r: 12, t: 24, b: 40};
  const named = opts.series.filter((sr) => !sr.noLegend);
  const rows = [];
  for (const sr of named) {
    const w = 30 + 6.5 * String(sr.name).length;
    if (!rows.length || rows[rows.length - 1].w + w > W - m.l - m.r) rows.push({w: 0, items: []});
    rows[rows.length - 1].items.push(sr);
    rows[rows.length - 1].w += w;
  }
  m.t += 16 * rows.length + (rows.length ? 6 : 0);
  const H = (opts.height || 270) + m.t - 24;
  const pts = opts.series.flatMap((sr) => sr.points).filter((p) => p.y !== null && p.y !== undefined);
  const svg = s('svg', {class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img'});
  if (opts.title) svg.appendChild(s('text', {x: m.l, y: 15, class: 'ctitle'}, opts.title));
  if (!pts.length) { svg.appendChild(s('text', {x: W / 2, y: H / 2, class: 'empty'}, 'no data yet')); return svg; }
  const logX = opts.logX && pts.every((p) => p.x > 0);
  const xs = pts.map((p) => (logX ? Math.log10(p.x) : p.x));
  const ys = pts.flatMap((p) => [p.y, p.lo, p.hi]).filter((v) => v !== null && v !== undefined && isFinite(v));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  const yt = niceTicks(y0, y1, 5);
  y0 = Math.min(y0, yt[0]); y1 = Math.max(y1, yt[yt.length - 1]);
  const padX = (x1 - x0) * 0.03; x0 -= padX; x1 += padX;
  const X0 = (v) => m.l + ((logX ? Math.log10(v) : v) - x0) / (x1 - x0) * (W - m.l - m.r);
  let dodge = 0;  // series with the same values side by side: each drawn a few pixels apart (opts.dodge)
  const X = (v) => X0(v) + dodge;
  const Y = (v) => H - m.b - (v - y0) / ((y1 - y0) || 1) * (H - m.t - m.b);
  const xt = logX ? logTicks(Math.pow(10, x0 + padX), Math.pow(10, x1 - padX)) : niceTicks(x0 + padX, x1 - padX, 5);
  for (const t of yt) {
    svg.appendChild(s('line', {x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t), class: 'grid'}));
    svg.appendChild(s('text', {x: m.l - 5, y: Y(t) + 4, class: 'tick', 'text-anchor': 'end'}, fmt(t)));
  }
  for (const t of xt) {
    if (X0(t) < m.l - 1 || X0(t) > W - m.r + 1) continue;
    svg.appendChild(s('line', {x1: X0(t), x2: X0(t), y1: H - m.b, y2: H - m.b + 4, class: 'axis'}));
    svg.appendChild(s('text', {x: X0(t), y: H - m.b + 15, class: 'tick', 'text-anchor': 'middle'}, fmt(t, 3)));
  }
  svg.appendChild(s('path', {d: `M${m.l},${m.t}V${H - m.b}H${W - m.r}`, class: 'axis', fill: 'none'}));
  svg.appendChild(s('text', {x: (m.l + W - m.r) / 2, y: H - 6, class: 'label', 'text-anchor': 'middle'}, opts.xLabel || ''));
  svg.appendChild(s('text', {x: 12, y: (m.t + H - m.b) / 2, class: 'label', 'text-anchor': 'middle',
    transform: `rotate(-90 12 ${(m.t + H - m.b) / 2})`}, opts.yLabel || ''));
  const groups = [...new Set(opts.series.map((sr) => sr.group === undefined ? sr.name : sr.group))];
  opts.series.forEach((sr, k) => {
    const c = sr.colour || colour(k), p = sr.points.filter((q) => q.y !== null && q.y !== undefined);
    dodge = opts.dodge ? (groups.indexOf(sr.group === undefined ? sr.name : sr.group) - (groups.length - 1) / 2) * opts.dodge : 0;
    if (!p.length) return;
    const band = p.filter((q) => q.lo !== undefined && q.lo !== null);
    if (band.length > 1) {
      const d = band.map((q, i) => `${i ? 'L' : 'M'}${X(q.x)},${Y(q.hi)}`).join('') +
        band.slice().reverse().map((q) => `L${X(q.x)},${Y(q.lo)}`).join('') + 'Z';
      svg.appendChild(s('path', {d, fill: c, 'fill-opacity': 0.15, stroke: 'none'}));
    }
    let d = '';
    p.forEach((q, i) => {
      if (!i) d += `M${X(q.x)},${Y(q.y)}`;
      else if (sr.step) d += `H${X(q.x)}V${Y(q.y)}`;
      else d += `L${X(q.x)},${Y(q.y)}`;
    });
    if (!sr.noLine) svg.appendChild(s('path', {d, fill: 'none', stroke: c, 'stroke-width': 2, 'stroke-dasharray': sr.dash || null}));
    for (const q of p) {
      if (sr.hidePoints && !q.href) continue;
      const dot = s('circle', {cx: X(q.x), cy: Y(q.y), r: q.href ? 4 : 2.5, fill: c, class: q.href ? 'pt link' : 'pt',
        'data-cell': q.cell || null}, s('title', {}, q.title || `${sr.name}: ${fmt(q.y, 6)} at ${fmt(q.x)}`));
      svg.appendChild(q.href ? s('a', {href: q.href, class: 'ptlink'}, dot) : dot);
    }
  });
  const legend = s('g', {class: 'legend'});
  rows.forEach((row, j) => {
    let lx = m.l + 6;
    const ly = 34 + 16 * j;
    for (const sr of row.items) {
      const c = sr.colour || colour(opts.series.indexOf(sr));
      legend.appendChild(s('line', {x1: lx, x2: lx + 14, y1: ly - 4, y2: ly - 4, stroke: c, 'stroke-width': 3,
        'stroke-dasharray': sr.dash || null}));
      legend.appendChild(s('text', {x: lx + 18, y: ly, class: 'tick'}, sr.name));
      lx += 30 + 6.5 * String(sr.name).length;
    }
  });
  svg.appendChild(legend);
  return svg;
}

// The yield funnel of one size: a bar per stage, its length the share of samples.
const STAGES = [['samples', 'samples'], ['extracted', 'extracted'], ['compiles', 'compiles'], ['runs', 'runs'],
  ['valid', 'valid'], ['new_best', 'new best']];
function funnelChart(row, failures) {
  const W = 440, bh = 18, gap = 5, lw = 80, H = STAGES.length * (bh + gap) + 34;
  const svg = s('svg', {class: 'chart funnel', width: W, height: H, viewBox: `0 0 ${W} ${H}`, 'data-size': row.model});
  svg.appendChild(s('text', {x: 4, y: 14, class: 'ctitle'}, `${row.model}: ${row.samples} samples`));
  const total = row.samples || 1;
  STAGES.forEach(([k, name], i) => {
    const y = 22 + i * (bh + gap), v = row[k] || 0, w = (W - lw - 110) * v / total;
    svg.appendChild(s('text', {x: lw - 6, y: y + 13, class: 'tick', 'text-anchor': 'end'}, name));
    svg.appendChild(s('rect', {x: lw, y, width: Math.max(w, 1), height: bh, fill: ramp(1 - i / STAGES.length)},
      s('title', {}, `${name}: ${v} of ${row.samples}`)));
    svg.appendChild(s('text', {x: lw + Math.max(w, 1) + 5, y: y + 13, class: 'tick'}, `${v} (${pct(v / total)})`));
  });
  const wrap = h('div', {class: 'funnelbox'}, svg);
  const chips = failures.filter((f) => f.model === row.model).map((f) =>
    h('span', {class: 'chip', 'data-failure': f.failure, title: `${f.failure}: ${f.n} samples`},
      h('i', {class: 'sw', 'data-colour': failureColour(f.failure)}), `${f.failure} ${f.n}`));
  wrap.appendChild(h('div', {class: 'chips'}, chips));
  return wrap;
}

// Paint the colour swatches (a CSSOM write, which the page's Content-Security-Policy allows, unlike style="").
function paintSwatches(root) {
  for (const e of root.querySelectorAll('[data-colour]')) e.style.background = e.getAttribute('data-colour');
}
