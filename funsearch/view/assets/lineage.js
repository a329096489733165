// lineage.js: every registered program as a node (x: sample id, y: island or score), an edge to each parent,
// coloured by score rank and shaped by size. Wheel zooms, drag pans, a click selects (ctx.onSelect).

function lineageView(lin, sizes, ctx) {
  const W = 800, H = 440, m = {l: 46, r: 16, t: 14, b: 28};
  const nodes = lin.nodes.map((n) => ({id: n[0], sample: n[1], island: n[2], score: n[3], size: n[4], best: n[5],
    parents: n[6]}));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const progs = nodes.filter((n) => n.id !== 0);
  const scores = nodes.map((n) => n.score).filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  const lo = scores[0], hi = scores[scores.length - 1];
  // colour by rank: scores bunch near the top in most runs, so a linear scale would paint nearly all alike
  const bound = (v, strict) => {  // the first index whose score is >= v (> v when strict)
    let a = 0, b = scores.length;
    while (a < b) { const mid = (a + b) >> 1; if (strict ? scores[mid] <= v : scores[mid] < v) a = mid + 1; else b = mid; }
    return a;
  };
  const rank = (v) => (scores.length > 1 ? (bound(v, false) + bound(v, true) - 1) / 2 / (scores.length - 1) : 1);
  const islands = Math.max(1, ...progs.map((n) => n.island + 1));
  const maxSample = Math.max(1, ...progs.map((n) => n.sample));
  const yMode = ctx.state.yMode || 'island';
  const X = (n) => m.l + (n.sample + 1) / (maxSample + 1) * (W - m.l - m.r);
  const lane = (H - m.t - m.b) / islands;
  const laneCount = {};
  const pos = new Map();
  for (const n of nodes) {
    let y;
    if (yMode === 'score') y = H - m.b - ((n.score - lo) / ((hi - lo) || 1)) * (H - m.t - m.b);
    else if (n.id === 0) y = m.t + (H - m.t - m.b) / 2;
    else {
      const k = (laneCount[n.island] = (laneCount[n.island] || 0) + 1);
      y = m.t + lane * (n.island + 0.5) + ((k % 3) - 1) * Math.min(lane / 4, 9);
    }
    pos.set(n.id, [n.id === 0 ? m.l - 22 : X(n), y]);
  }
  const svg = s('svg', {class: 'lineage', viewBox: `0 0 ${W} ${H}`, width: '100%', height: H, 'data-nodes': nodes.length});
  const view = {x: 0, y: 0, w: W, h: H, ...(ctx.state.zoom || {})};
  const setView = () => { svg.setAttribute('viewBox', `${view.x} ${view.y} ${view.w} ${view.h}`); ctx.state.zoom = {...view}; };
  setView();
  const axis = s('g', {class: 'laxis'});
  if (yMode === 'island') {
    for (let i = 0; i < islands; i++) {
      axis.appendChild(s('line', {x1: m.l - 10, x2: W - m.r, y1: m.t + lane * (i + 1), y2: m.t + lane * (i + 1), class: 'grid'}));
      axis.appendChild(s('text', {x: 4, y: m.t + lane * (i + 0.5) + 4, class: 'tick'}, `isl ${i}`));
    }
  } else {
    for (const t of niceTicks(lo, hi, 5)) {
      const y = H - m.b - ((t - lo) / ((hi - lo) || 1)) * (H - m.t - m.b);
      if (y < m.t - 2 || y > H - m.b + 2) continue;
      axis.appendChild(s('text', {x: 4, y: y + 4, class: 'tick'}, fmt(t)));
      axis.appendChild(s('line', {x1: m.l - 10, x2: W - m.r, y1: y, y2: y, class: 'grid'}));
    }
  }
  axis.appendChild(s('text', {x: W - m.r, y: H - 8, class: 'tick', 'text-anchor': 'end'}, `sample id (0 … ${maxSample})`));
  svg.appendChild(axis);
  const edges = s('g', {class: 'edges'}), dots = s('g', {class: 'dots'});
  const edgeOf = new Map();
  for (const n of nodes) {
    const [x, y] = pos.get(n.id);
    for (const p of n.parents) {
      if (!pos.has(p)) continue;
      const [px, py] = pos.get(p), mx = (px + x) / 2;
      const e = s('path', {d: `M${px},${py}C${mx},${py} ${mx},${y} ${x},${y}`, class: 'edge', 'data-child': n.id, 'data-parent': p});
      edges.appendChild(e);
      (edgeOf.get(n.id) || edgeOf.set(n.id, []).get(n.id)).push(e);
    }
  }
  const r = nodes.length > 600 ? 3.5 : 6;
  for (const n of nodes) {
    const [x, y] = pos.get(n.id);
    const t = rank(n.score);
    const g = s('g', {class: 'node' + (n.best ? ' newbest' : ''), transform: `translate(${x},${y})`, tabindex: 0,
      'data-kind': n.id === 0 ? 'seed' : 'program', 'data-program-id': n.id, 'data-sample-id': n.sample,
      'data-score': n.score === null ? '' : n.score},
    n.id === 0 ? s('circle', {r: r + 3, fill: '#fff', class: 'seed'}) : s('path', {d: shape(n.size, r), fill: ramp(t)}),
    n.id === 0 ? s('text', {y: -r - 6, class: 'tick', 'text-anchor': 'middle'}, 'seed') : null,
    s('title', {}, n.id === 0 ? `seed program, score ${fmt(n.score, 6)}` :
      `program #${n.id} (sample ${n.sample}, ${sizes[n.size] || '?'}, island ${n.island}): score ${fmt(n.score, 6)}` +
      (n.parents.length ? `; parents ${n.parents.map((p) => '#' + p).join(', ')}` : '')));
    g.addEventListener('click', () => select(n.id, true));
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') select(n.id, true); });
    dots.appendChild(g);
  }
  svg.append(edges, dots);
  function select(id, user) {
    for (const e of svg.querySelectorAll('.sel')) e.classList.remove('sel');
    const g = svg.querySelector(`[data-program-id="${id}"]`);
    if (!g) return;
    g.classList.add('sel');
    for (const e of edgeOf.get(id) || []) e.classList.add('sel');
    if (user) ctx.onSelect(byId.get(id));
  }
  if (ctx.state.selectedProgram !== undefined) select(ctx.state.selectedProgram, false);
  // zoom and pan
  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const b = svg.getBoundingClientRect(), f = ev.deltaY > 0 ? 1.25 : 0.8;
    const px = view.x + (ev.clientX - b.left) / b.width * view.w, py = view.y + (ev.clientY - b.top) / b.height * view.h;
    view.w = Math.min(W, view.w * f); view.h = Math.min(H, view.h * f);
    view.x = Math.max(0, Math.min(W - view.w, px - (px - view.x) * f));
    view.y = Math.max(0, Math.min(H - view.h, py - (py - view.y) * f));
    setView();
  }, {passive: false});
  let drag = null;
  svg.addEventListener('pointerdown', (ev) => { if (!ev.target.closest('.node')) drag = [ev.clientX, ev.clientY, view.x, view.y]; });
  svg.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const b = svg.getBoundingClientRect();
    view.x = Math.max(0, Math.min(W - view.w, drag[2] - (ev.clientX - drag[0]) / b.width * view.w));
    view.y = Math.max(0, Math.min(H - view.h, drag[3] - (ev.clientY - drag[1]) / b.height * view.h));
    setView();
  });
  svg.addEventListener('pointerup', () => { drag = null; });
  svg.addEventListener('pointerleave', () => { drag = null; });
  const controls = h('div', {class: 'controls'},
    h('button', {type: 'button', onclick: () => { ctx.state.yMode = yMode === 'island' ? 'score' : 'island'; ctx.rerender(); }},
      yMode === 'island' ? 'y: score' : 'y: island'),
    h('button', {type: 'button', onclick: () => { Object.assign(view, {x: 0, y: 0, w: W, h: H}); setView(); }}, 'reset zoom'),
    h('span', {class: 'note'}, lin.shown < lin.total ?
      `showing ${lin.shown} of ${lin.total} programs (the best one's ancestry, new bests, island bests and their ancestors, then the highest scores)` :
      `${lin.total} programs + the seed`),
    h('span', {class: 'legend'}, 'colour: score rank ', h('i', {class: 'sw', 'data-colour': ramp(0)}), ` ${fmt(lo, 5)} → `,
      h('i', {class: 'sw', 'data-colour': ramp(1)}), ` ${fmt(hi, 5)}`,
      sizes.map((z, i) => [' · ', h('span', {class: 'shape'}, SHAPE_NAMES[i % 5]), ' ', z]), ' · thick outline: new best'));
  return h('div', {class: 'lineagebox'}, controls, svg);
}
