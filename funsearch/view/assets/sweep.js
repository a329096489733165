// sweep.js: a sweep's page: per problem the best size at each budget, the report's curves (mean and 95 %
// interval over seeds per mode and size; every seed's point links to its run's page), the decomposition per
// size; then every cell so far, each linked to its run page.

function sweepView(data) {
  const root = h('div', {class: 'sweep', 'data-sweep': data.name});
  const ex = data.experiment || {};
  root.appendChild(h('header', {}, h('h1', {}, 'Sweep ', h('span', {class: 'name'}, data.name)),
    h('p', {class: 'sub'}, [`backend ${ex.backend || '?'}`, ex.price_as ? `priced as ${ex.price_as}` : null,
      `budgets in ${data.unit || '?'}`, `${(ex.seeds || []).length} seeds`, `sizes ${(ex.sizes || []).join(', ')}`,
      (ex.baselines || []).length ? `baselines ${(ex.baselines || []).join(', ')}` : null].filter(Boolean).join(' · '))));
  if (!data.problems.length) root.appendChild(h('p', {class: 'note'}, 'No finished runs yet (results.csv is empty or missing).'));
  for (const p of data.problems) root.appendChild(problemView(p, data.unit));
  root.appendChild(section('Runs', cellsView(data.cells)));
  paintSwatches(root);
  return root;
}

function leader(a) {
  // as the report: sizes whose mean equals the best one's are a tie
  const means = a.means || {};
  const tied = Object.keys(means).filter((z) => means[z] === means[a.best]).sort();
  return tied.length > 1 ? `tie: ${tied.join(' = ')}` : (a.best || '–');
}

function oneSeed(a) {
  const n = Object.values(a.n || {});
  return n.length > 1 && Math.min(...n) < 2;
}

function problemView(p, unit) {
  const box = h('section', {class: 'problem', 'data-problem': p.problem}, h('h2', {}, p.problem));
  box.appendChild(h('h3', {}, 'Best size at each budget'));
  box.appendChild(table(['budget', 'best size', 'runner-up', 'margin', 'confidence', 'bootstrap', 'mean score per size'],
    p.answers.map((a) => [a.budget, leader(a), a.runner_up || '–', fmt(a.margin, 4),
      // as the report: no confidence while a size has one seed (no seed-to-seed noise measured yet)
      oneSeed(a) ? '– (one seed)' : fmt(a.confidence, 3), oneSeed(a) ? '–' : fmt((a.bootstrap || {})[a.best], 3),
      Object.entries(a.means || {}).sort().map(([z, v]) => `${z} ${fmt(v, 6)} (n=${(a.n || {})[z]})`).join(', ')]),
    {class: 'answers'}));
  const evolving = new Set(p.seeds.filter((q) => q.mode === 'evolve').map((q) => q.label));
  const labels = [...new Set(p.score.map((q) => q.label).concat(p.seeds.map((q) => q.label)))]
    .sort((a, b) => (evolving.has(b) - evolving.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
  const curve = (points, field, yLabel, title) => lineChart({title, yLabel, xLabel: `budget (${unit || '?'})`, logX: p.log_x,
    width: 600, height: 320, dodge: 5,
    series: labels.flatMap((lab, k) => {
      const c = colour(k), mean = points.filter((q) => q.label === lab);
      return [{name: lab, group: lab, colour: c, points: mean.map((q) => ({x: q.budget_amount, y: q.mean, lo: q.lo, hi: q.hi,
        title: `${lab} at ${q.budget}: mean ${fmt(q.mean, 6)} [${fmt(q.lo, 6)}, ${fmt(q.hi, 6)}], ${q.n} seeds`}))},
      {name: lab, group: lab, colour: c, noLine: true, noLegend: true, points: p.seeds.filter((q) => q.label === lab && q[field] !== null)
        .map((q) => ({x: q.budget_amount, y: q[field], href: '#/run/' + encodeURIComponent(q.cell), cell: q.cell,
          title: `${lab}, seed ${q.seed}, at ${q.budget}: ${fmt(q[field], 6)}: open run ${q.cell}`}))}];
    })});
  box.appendChild(h('div', {class: 'grid2'},
    p.metric.length ? curve(p.metric, 'metric', p.metric_name || 'metric', `best ${p.metric_name || 'metric'} vs budget`) : null,
    curve(p.score, 'score', 'score', 'best score vs budget')));
  box.appendChild(h('p', {class: 'note'}, 'Lines: mean over seeds, band: 95 % bootstrap interval; dots: one run each (click to open it).'));
  box.appendChild(h('h3', {}, 'Decomposition per size'));
  box.appendChild(table(['mode / size', 'runs', 'samples', 'samples per $', 'P(valid and new)', 'P(improves island | valid, new)',
    'mean gain', 'duplicates', 'failed (no-ops and cascade stops counted)', 'evaluation share of cost'],
  p.decomposition.map((d) => [d.label, d.runs, d.samples, fmt(d.samples_per_dollar, 4), pct(d.p_valid_new), pct(d.p_improve),
    fmt(d.mean_gain, 4), pct(d.copy_rate), pct(d.failure_rate), pct(d.eval_share)]), {class: 'decomposition'}));
  box.appendChild(h('p', {class: 'note'}, 'Summed over seeds, modelled cost (samples and their evaluations). ' +
    'Island bests are followed from the seed\'s score in registration order; resets are not replayed.'));
  return box;
}

function cellsView(cells) {
  if (!cells.length) return h('p', {class: 'note'}, 'no runs yet');
  return h('ul', {class: 'cells'}, cells.map((c) => h('li', {},
    h('a', {href: '#/run/' + encodeURIComponent(c.cell), 'data-cell': c.cell}, c.cell), c.finished ? '' : ' (not finished)')));
}
