// detail.js: one program or sample: source, diff against each parent, per-instance scores, prompt, completion,
// failure class and every other recorded field. Everything here is untrusted text and is only set as text.

function detailView(d) {
  if (!d || d.missing) return h('div', {class: 'detail empty'}, 'This sample is not included in this file.');
  if (d.error) return h('div', {class: 'detail empty'}, d.error);
  const ev = d.evaluation, prog = d.program;
  const title = d.sample_id === -1 ? 'Seed program' :
    (prog ? `Program #${prog.id} (sample ${d.sample_id})` : `Sample ${d.sample_id}`);
  const out = h('div', {class: 'detail', 'data-sample-id': d.sample_id});
  out.appendChild(h('h3', {}, title,
    prog && prog.score !== null && prog.score !== undefined ? h('span', {class: 'score'}, ` score ${fmt(prog.score, 8)}`) : null,
    prog && prog.new_best ? h('span', {class: 'badge best'}, 'new best') : null,
    d.failure ? h('span', {class: 'badge fail', 'data-colour': failureColour(d.failure), 'data-failure': d.failure}, d.failure) : null));
  if (d.failure || d.message) out.appendChild(h('p', {class: 'message'}, d.message || ''));
  const facts = [['model', d.model], ['island', d.island],
    ['parents', (d.parents || []).map((p) => '#' + p.id).join(', ') || '–']];
  for (const [k, v] of Object.entries(d.fields || {})) {
    if (v === null || v === undefined || v === '') continue;
    facts.push([k, typeof v === 'object' ? JSON.stringify(v) : (typeof v === 'number' ? fmt(v, 6) : v)]);
  }
  out.appendChild(h('dl', {class: 'facts'}, facts.filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
  if (d.source !== null && d.source !== undefined) out.append(h('h4', {}, 'Source'), pre(d.source, 'code source'));
  for (const p of d.parents || []) {
    out.appendChild(h('h4', {}, `Diff against parent #${p.id}` + (p.score !== null && p.score !== undefined ? ` (score ${fmt(p.score, 8)})` : '')));
    if (!p.diff) out.appendChild(h('p', {class: 'note'}, p.note || 'no source to compare'));
    else if (!p.diff.length) out.appendChild(h('p', {class: 'note'}, 'identical source'));
    else out.appendChild(diffView(p.diff));
  }
  if (ev) {
    out.appendChild(h('h4', {}, 'Evaluation'));
    out.appendChild(h('p', {}, `valid ${ev.valid ? 'yes' : 'no'}, score ${fmt(ev.score, 8)}, ${fmt(ev.seconds, 3)} s`,
      ev.failure ? ` · ${ev.failure}: ` : '', ev.failure ? ev.message : '',
      Object.entries(ev.metrics || {}).map(([k, v]) => ` · ${k} ${fmt(v, 6)}`)));
    if (ev.instances && ev.instances.length) {
      out.appendChild(table(['instance', 'score', 'error', 'seconds'], ev.instances.map((i) => [
        i.name, fmt(i.score, 8), i.error ? `${i.error.kind || ''}: ${i.error.message || ''}` : '', fmt(i.seconds, 3)]),
      {class: 'instances'}));
      if (ev.instances_total > ev.instances.length) {
        out.appendChild(h('p', {class: 'note'}, `first ${ev.instances.length} of ${ev.instances_total} instances`));
      }
    }
  }
  if (d.completion !== null && d.completion !== undefined) {
    out.appendChild(h('details', {open: ''}, h('summary', {}, 'Completion (the model\'s text)'), pre(d.completion, 'code completion')));
  }
  if (d.prompt !== null && d.prompt !== undefined) {
    out.appendChild(h('details', {}, h('summary', {}, 'Prompt'), pre(d.prompt, 'code prompt')));
  }
  paintSwatches(out);
  return out;
}

function diffView(lines) {
  const box = h('pre', {class: 'code diff'});
  for (const line of lines) {
    const c = line.startsWith('+++') || line.startsWith('---') ? 'file' : line.startsWith('@@') ? 'hunk' :
      line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : 'ctx';
    box.appendChild(h('span', {class: c}, line + '\n'));
  }
  return box;
}

// The samples table: filter by failure class and size, page through, click a row to see it.
function samplesView(page, ctx, failures, sizes) {
  const st = ctx.state.samples;
  const classes = [...new Set(failures.map((f) => f.failure))].sort();
  const pick = (name, values, current) => h('select', {'aria-label': name, onchange: (ev) => {
    st[name] = ev.target.value; st.offset = 0; ctx.reloadSamples();
  }}, h('option', {value: ''}, `any ${name}`), values.map((v) => {
    const o = h('option', {value: v}, v);
    if (v === current) o.selected = true;
    return o;
  }));
  const box = h('div', {class: 'samples'});
  box.appendChild(h('div', {class: 'controls'}, pick('failure', classes, st.failure), pick('model', sizes, st.model),
    h('button', {type: 'button', disabled: st.offset <= 0 ? '' : null,
      onclick: () => { st.offset = Math.max(0, st.offset - (page.page || 100)); ctx.reloadSamples(); }}, '‹ previous'),
    h('span', {class: 'note'}, page.missing ? 'this page is not included in this file' :
      `${page.total ? page.offset + 1 : 0}–${page.offset + (page.rows || []).length} of ${page.total}`),
    h('button', {type: 'button', disabled: page.missing || page.offset + (page.rows || []).length >= page.total ? '' : null,
      onclick: () => { st.offset += page.page || 100; ctx.reloadSamples(); }}, 'next ›')));
  if (page.rows) {
    box.appendChild(table(['sample', 'model', 'island', 'outcome', 'score', 'message'], page.rows.map((r) => {
      const tr = h('tr', {class: 'row', 'data-sample-id': r.id, tabindex: 0, onclick: () => ctx.showSample(r.id, r.program_id)},
        h('td', {}, r.id), h('td', {}, r.model), h('td', {}, r.island),
        h('td', {}, h('i', {class: 'sw', 'data-colour': failureColour(r.failure || 'valid')}), ' ', r.failure || 'valid'),
        h('td', {}, fmt(r.score, 8)), h('td', {class: 'msg'}, r.message || ''));
      return tr;
    }), {class: 'sampletable'}));
  }
  paintSwatches(box);
  return box;
}
