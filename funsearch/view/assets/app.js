// app.js: routes (#/ the run or the sweep, #/run/<cell> one run of a sweep), following the store while it is
// written (the live page polls a stamp every two seconds and redraws when it changes; an --html file never
// polls), and the state a redraw keeps: the selected program, zoom, filters, open details and scroll position.

const app = document.getElementById('app');
const state = {samples: {offset: 0, failure: '', model: ''}};
let current = {route: null, version: null};

function route() {
  const m = location.hash.match(/^#\/run\/(.+)$/);
  return m ? {cell: decodeURIComponent(m[1])} : {cell: null};
}

async function render(keepScroll) {
  const r = route(), scroll = keepScroll ? window.scrollY : 0;
  const index = await get('index');
  if (index.error || index.missing) { app.replaceChildren(h('p', {class: 'error'}, index.error || 'no data')); return; }
  document.title = 'funsearch view: ' + index.name;
  if (index.kind === 'sweep' && !r.cell) {
    const data = await get('sweep');
    app.replaceChildren(data.error || data.missing ? h('p', {class: 'error'}, data.error || 'not in this file') : sweepView(data));
  } else {
    const data = await get('run', {cell: r.cell});
    if (data.error || data.missing) { app.replaceChildren(h('p', {class: 'error'}, data.error || 'this run is not in this file')); }
    else await drawRun(data, r.cell);
  }
  if (keepScroll) window.scrollTo(0, scroll);
  document.body.dataset.ready = '1';
}

async function drawRun(data, cell) {
  const opened = [...document.querySelectorAll('#detail details')].map((d) => d.open);
  const ctx = {cell, state, rerender: () => drawRun(data, cell).then(() => window.scrollTo(0, window.scrollY))};
  ctx.onSelect = (node) => { state.selectedProgram = node.id; state.selectedSample = node.sample; showDetail(ctx, node.sample); };
  ctx.showSample = (sampleId, programId) => {
    state.selectedSample = sampleId;
    state.selectedProgram = programId === null || programId === undefined ? undefined : programId;
    for (const e of document.querySelectorAll('.lineage .sel')) e.classList.remove('sel');
    const g = programId === null || programId === undefined ? null : document.querySelector(`.lineage [data-program-id="${programId}"]`);
    if (g) g.classList.add('sel');
    showDetail(ctx, sampleId).then(() => ctx.panel.scrollIntoView({block: 'nearest'}));
  };
  ctx.reloadSamples = () => loadSamples(ctx, data);
  const view = runView(data, ctx);
  app.replaceChildren(view);
  await loadSamples(ctx, data);
  if (state.selectedSample !== undefined) {
    await showDetail(ctx, state.selectedSample);
    document.querySelectorAll('#detail details').forEach((d, i) => { if (i < opened.length) d.open = opened[i]; });
  }
}

async function showDetail(ctx, sampleId) {
  const d = await get('sample', {cell: ctx.cell, id: sampleId});
  ctx.panel.replaceChildren(detailView(d));
}

async function loadSamples(ctx, data) {
  const st = state.samples;
  const page = await get('samples', {cell: ctx.cell, offset: st.offset || null, failure: st.failure, model: st.model});
  ctx.samplesBox.replaceChildren(samplesView(page, ctx, data.failures || [], data.sizes || []));
}

async function poll() {
  if (STATIC) return;
  try {
    const v = await get('version', {cell: route().cell});
    if (v.version && current.version && v.version !== current.version) await render(true);
    if (v.version) current.version = v.version;
  } catch (e) {
    // the server stopped: keep showing what was there
  }
  setTimeout(poll, 2000);
}

window.addEventListener('hashchange', () => {
  state.selectedProgram = state.selectedSample = state.zoom = undefined;
  state.samples = {offset: 0, failure: '', model: ''};
  current.version = null;
  document.body.dataset.ready = '0';
  render(false);
});
render(false).then(poll);
