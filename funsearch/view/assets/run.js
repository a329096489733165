// run.js: a run's page: headline, best score vs samples and vs cost per size, yield funnel per size, islands,
// the lineage with the selected program's details, the best program and the samples table.

function runView(data, ctx) {
  const root = h('div', {class: 'run', 'data-run': data.name});
  const cfg = data.config || {}, best = data.best, totals = (data.ledger || {}).totals || {};
  root.appendChild(h('header', {},
    ctx.cell ? h('a', {href: '#/', class: 'back'}, '← sweep') : null,
    h('h1', {}, 'Run ', h('span', {class: 'name'}, data.name)),
    h('p', {class: 'sub'}, [cfg.problem, (cfg.model_sizes || []).join(', '), cfg.backend, cfg.mode,
      cfg.seed !== undefined ? `seed ${cfg.seed}` : null, cfg.islands ? `${cfg.islands} islands` : null,
      cfg.budget ? `budget ${cfg.budget}` : null].filter((x) => x !== null && x !== undefined && x !== '').join(' · ')),
    h('p', {class: 'status', 'data-stop': data.stop_reason || ''}, data.stop_reason ? `stopped: ${data.stop_reason}` :
      (STATIC ? 'not stopped cleanly when this file was written' : 'running, or not stopped cleanly: following the store'))));
  const kpi = (label, value, attrs) => h('div', {class: 'kpi'}, h('div', {class: 'v', ...(attrs || {})}, value), h('div', {class: 'k'}, label));
  root.appendChild(h('div', {class: 'kpis'},
    kpi('best score', best ? String(best.score) : '–', {id: 'best-score', 'data-value': best ? best.score : ''}),
    kpi('seed score', fmt(data.baseline.score, 8)),
    kpi('samples', data.counts.samples, {id: 'sample-count'}),
    kpi('programs', data.counts.programs, {id: 'program-count'}),
    kpi('evaluations', data.counts.evaluations),
    kpi(`measured (${(data.ledger || {}).measured_hw || '?'})`, money(totals.measured_dollars)),
    kpi(`modelled (${(data.ledger || {}).modelled_hw || (data.ledger || {}).measured_hw || '?'})`, money(totals.modelled_dollars))));

  const curves = data.curves || [];
  const series = (ix) => curves.map((c, k) => ({name: c.size, step: true, colour: c.size === 'all sizes' ? '#444' : colour(k),
    dash: c.size === 'all sizes' ? '4 3' : null, points: c.points.map((p) => ({x: p[ix], y: p[3],
      title: `${c.size}: best ${fmt(p[3], 6)} after ${p[0]} samples, measured ${money(p[1])}, modelled ${money(p[2])} (sample ${p[4]})`}))}));
  root.appendChild(section('Best score', h('div', {class: 'grid3'},
    lineChart({series: series(0), xLabel: 'samples of this size', yLabel: 'best score', title: 'vs samples'}),
    lineChart({series: series(1), xLabel: `measured $ (${(data.ledger || {}).measured_hw || '?'})`, yLabel: 'best score', title: 'vs measured cost'}),
    lineChart({series: series(2), xLabel: `modelled $ (${(data.ledger || {}).modelled_hw || (data.ledger || {}).measured_hw || '?'})`,
      yLabel: 'best score', title: 'vs modelled cost'}))));

  const funnels = h('div', {class: 'charts'}, (data.funnel || []).map((row) => funnelChart(row, data.failures || [])));
  root.appendChild(section('Yield funnel per size', funnels,
    h('p', {class: 'note'}, 'samples > extracted (code found) > compiles > runs (no crash or timeout) > valid (scored) > new best; chips: every failure class recorded')));

  root.appendChild(section('Islands', islandsView(data.islands, data.counts.samples - 1)));

  const panel = h('div', {class: 'panel', id: 'detail'}, h('p', {class: 'note'}, 'Click a node (or a sample below) to see its source, its diff against each parent, its per-instance scores, the prompt and the completion.'));
  ctx.panel = panel;
  root.appendChild(section('Lineage', h('div', {class: 'lineage-row'}, lineageView(data.lineage, data.sizes, ctx), panel)));

  root.appendChild(section('Best program', bestView(data)));
  const samplesBox = h('div', {id: 'samples'});
  ctx.samplesBox = samplesBox;
  root.appendChild(section('Samples', samplesBox));
  paintSwatches(root);
  return root;
}

function islandsView(isl, lastSample) {
  if (!isl) return h('p', {}, 'no islands recorded');
  const rows = isl.islands.map((i) => [i.island, i.programs, fmt(i.best, 8), i.best_id ? '#' + i.best_id : 'seed',
    i.now === null || i.now === undefined ? '–' : fmt(i.now, 8), i.now_id === null || i.now_id === undefined ? '–' : (i.now_id ? '#' + i.now_id : 'seed'),
    i.samples === null || i.samples === undefined ? '–' : i.samples]);
  const trace = lineChart({title: 'best per island over samples', xLabel: 'sample id', yLabel: 'island best', width: 640, height: 260,
    series: isl.islands.map((i, k) => ({name: `isl ${i.island}`, step: true, colour: colour(k), noLegend: isl.islands.length > 6,
      points: i.trace.concat([[Math.max(0, lastSample, ...i.trace.map((t) => t[0])), i.trace[i.trace.length - 1][1]]])
        .map((t) => ({x: t[0], y: t[1], title: `island ${i.island}: ${fmt(t[1], 6)} at sample ${t[0]}`}))}))});
  return h('div', {class: 'grid2'},
    h('div', {}, table(['island', 'programs', 'best ever', 'id', 'best now', 'id', 'registered'], rows, {class: 'islands'}),
      h('p', {class: 'note'}, `resets: ${isl.resets === null || isl.resets === undefined ? '– (no checkpoint yet)' : isl.resets}` +
        ` · the weaker half is reset every ${isl.reset_period} registered samples` +
        (isl.registered !== null && isl.registered !== undefined ? ` (${isl.registered} so far)` : '') +
        (isl.checkpoint_sample !== null && isl.checkpoint_sample !== undefined ? ` · "now" as of the checkpoint after sample ${isl.checkpoint_sample}` : ''))),
    trace);
}

function bestView(data) {
  const best = data.best;
  if (!best) return h('p', {}, 'no valid program yet');
  const metrics = best.metrics || {};
  const box = h('div', {class: 'best'});
  box.appendChild(h('p', {}, `program #${best.id} from sample ${best.sample_id} on island ${best.island}: score ${fmt(best.score, 8)}`,
    Object.entries(metrics).map(([k, v]) => ` · ${k} ${fmt(v, 6)}`),
    Object.keys(data.baseline.metrics || {}).length ? ' (seed: ' + Object.entries(data.baseline.metrics).map(([k, v]) => `${k} ${fmt(v, 6)}`).join(', ') + ')' : ''));
  box.appendChild(h('h4', {}, 'Held-out metrics'));
  box.appendChild(heldoutView(data.heldout, best));
  box.appendChild(pre(best.source, 'code source best-source'));
  return box;
}

// meta "heldout": {train_split, train: metrics, splits: {split: {valid, score, metrics, failure, message}}, program_hash}
// as runs write it; any other mapping of split -> metrics becomes a table too, anything else is shown as JSON.
function heldoutView(v, best) {
  if (v === null || v === undefined) return h('p', {class: 'note'}, 'not recorded for this run');
  const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (!isObj(v)) return pre(JSON.stringify(v, null, 1), 'code');
  let rows;
  if (isObj(v.splits)) {
    rows = Object.entries(v.splits).map(([name, r]) => [name, isObj(r) ? r : {}]);
    if (isObj(v.train)) rows.unshift([`${v.train_split || 'train'} (evolved on)`, {valid: true, metrics: v.train}]);
  } else {
    rows = Object.entries(v).filter(([, m]) => isObj(m)).map(([name, m]) => [name, {metrics: m}]);
  }
  if (!rows.length) return pre(JSON.stringify(v, null, 1), 'code');
  const metricOf = (r) => (isObj(r.metrics) ? r.metrics : {});
  const names = [...new Set(rows.flatMap(([, r]) => Object.keys(metricOf(r))))];
  const out = h('div', {});
  if (v.program_hash && best && best.hash && v.program_hash !== best.hash) {
    out.appendChild(h('p', {class: 'note'}, 'measured on an earlier best program (hash ' + String(v.program_hash).slice(0, 12) + ')'));
  }
  out.appendChild(table(['split', ...names, 'score', 'outcome'], rows.map(([name, r]) => [name,
    ...names.map((k) => (typeof metricOf(r)[k] === 'number' ? fmt(metricOf(r)[k], 6) : (metricOf(r)[k] === undefined ? '–' : JSON.stringify(metricOf(r)[k])))),
    r.score === undefined ? '–' : fmt(r.score, 8),
    r.failure ? `${r.failure}: ${r.message || ''}` : (r.valid === false ? 'invalid' : 'valid')]), {class: 'heldout'}));
  return out;
}
