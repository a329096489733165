// core.js: building elements (text only: nothing the data holds is ever parsed as markup), fetching answers
// (from the server, or from the data embedded in an --html file), number formats and colours.
'use strict';
const SVGNS = 'http://www.w3.org/2000/svg';
const DATA_NODE = document.getElementById('fs-data');
const STATIC = DATA_NODE ? JSON.parse(DATA_NODE.textContent) : null;

// An HTML element. attrs: class, id, title, data-*, colspan...; 'href' only for links inside the page ('#...');
// 'on' + event name for handlers. Children: nodes, or anything else as text.
function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

// An SVG element; children as in h (strings become text nodes, e.g. inside <text> and <title>).
function s(tag, attrs, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  setAttrs(e, attrs);
  append(e, children);
  return e;
}

function setAttrs(e, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'href') { if (String(v).startsWith('#')) e.setAttribute('href', String(v)); }
    else e.setAttribute(k, String(v));
  }
}

function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// The canonical request key (the same string as funsearch/view/api.py's key()).
function key(route, params) {
  const items = Object.entries(params || {}).filter(([, v]) => v !== null && v !== undefined && String(v) !== '')
    .map(([k, v]) => [k, String(v)]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return route + (items.length ? '?' + items.map(([k, v]) => k + '=' + encodeURIComponent(v)).join('&') : '');
}

// An answer: {missing: true} when an --html file does not hold it, {error: text} when the server refuses.
async function get(route, params) {
  const k = key(route, params);
  if (STATIC) return Object.prototype.hasOwnProperty.call(STATIC, k) ? STATIC[k] : {missing: true};
  const r = await fetch('api/' + k, {cache: 'no-store', credentials: 'same-origin'});
  if (!r.ok) return {error: (await r.text()).slice(0, 300)};
  return r.json();
}

function fmt(x, digits) {
  if (x === null || x === undefined || (typeof x === 'number' && !isFinite(x))) return '–';
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(2);
  return String(Number(x.toPrecision(digits || 4)));
}

function pct(x) { return x === null || x === undefined ? '–' : (100 * x).toFixed(1) + ' %'; }

function money(x) {
  if (x === null || x === undefined) return '–';
  return '$' + (x !== 0 && Math.abs(x) < 0.01 ? x.toExponential(2) : x.toFixed(2));
}

// Score colours: a viridis-like ramp from dark blue (worst shown) to yellow (best shown).
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function ramp(t) {
  t = Math.max(0, Math.min(1, isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t)), f = t - i;
  const c = RAMP[i].map((v, j) => Math.round(v + f * (RAMP[i + 1][j] - v)));
  return 'rgb(' + c.join(',') + ')';
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf',
  '#bcbd22', '#7f7f7f'];
function colour(i) { return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length]; }

// Failure classes are strings from the store; known ones get fixed colours, any other a colour from its name.
const FAILURE_COLOURS = {valid: '#2ca02c', duplicate: '#9e9e9e', no_code: '#8c564b', syntax_error: '#e377c2',
  wrong_signature: '#bcbd22', runtime_error: '#d62728', timeout: '#ff7f0e', memory_error: '#9467bd',
  crash: '#7b1fa2', bad_output: '#17becf', invalid_solution: '#1f77b4', proposer_error: '#607d8b'};
function failureColour(name) {
  if (FAILURE_COLOURS[name]) return FAILURE_COLOURS[name];
  let x = 0;
  for (const ch of String(name)) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return 'hsl(' + (x % 360) + ',55%,50%)';
}

// Node shapes by size index (-1: the seed program).
function shape(i, r) {
  switch (((i % 5) + 5) % 5) {
    case 1: return `M${-r},${-r}H${r}V${r}H${-r}Z`;
    case 2: return `M0,${-1.25 * r}L${1.15 * r},${0.8 * r}H${-1.15 * r}Z`;
    case 3: return `M0,${-1.3 * r}L${1.3 * r},0L0,${1.3 * r}L${-1.3 * r},0Z`;
    case 4: return `M${-r},${-0.4 * r}H${-0.4 * r}V${-r}H${0.4 * r}V${-0.4 * r}H${r}V${0.4 * r}H${0.4 * r}` +
      `V${r}H${-0.4 * r}V${0.4 * r}H${-r}Z`;
    default: return `M${-r},0A${r},${r} 0 1,0 ${r},0A${r},${r} 0 1,0 ${-r},0Z`;
  }
}
const SHAPE_NAMES = ['circle', 'square', 'triangle', 'diamond', 'cross'];

function section(title, ...children) { return h('section', {}, h('h2', {}, title), ...children); }

function table(headers, rows, attrs) {
  return h('table', attrs || {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', {}, c))))))));
}

function pre(text, cls) { return h('pre', {class: cls || 'code'}, text === null || text === undefined ? '' : text); }
