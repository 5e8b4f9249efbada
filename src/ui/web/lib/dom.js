// Tiny DOM helpers. Every value from the API goes in as text (textContent), never as HTML.

/** h('div', { class: 'x', onclick }, child, 'text', [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function time(iso) {
  if (!iso) return '–';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function cell(v) {
  if (v === null || v === undefined) return h('td', { class: 'null' }, 'null');
  if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))) return h('td', { class: 'num' }, String(v));
  if (typeof v === 'object') return h('td', { class: 'mono' }, JSON.stringify(v));
  return h('td', {}, String(v));
}

/** A table of rows (arrays) under column headers; `render(i, value, row)` may replace a cell. */
export function dataTable(columns, rows, { testid, render } = {}) {
  return h('div', { class: 'scroll' },
    h('table', { class: 'data', 'data-testid': testid },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { title: c.type ?? '' }, c.name ?? c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((v, i) => render?.(i, v, r) ?? cell(v)))))));
}

export function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function badge(label, value, kind) {
  return h('span', { class: `badge${kind ? ` ${kind}` : ''}` }, label, h('b', {}, String(value)));
}

export function failure(err) {
  return h('div', { class: 'error-box', 'data-testid': 'failure' }, err.message ?? String(err));
}
