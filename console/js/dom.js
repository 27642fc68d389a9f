// Small DOM helpers: build elements without innerHTML (no markup is ever parsed from data),
// and format the API's values for people.

// h('button', {class: 'x', onclick: fn, 'aria-label': '...'}, 'text', child, ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'hidden' || k === 'disabled') el[k] = Boolean(v);
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

let uid = 0;
// A unique id for label/input pairs.
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form control: returns the wrapper; the control is wrapper.control.
export function field(label, control, hint) {
  if (!control.id) control.id = nextId('f');
  const err = h('p', { class: 'field-error', id: `${control.id}-err`, hidden: true, role: 'alert' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  const wrap = h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl, err);
  wrap.control = control;
  return wrap;
}

export function select(options, value, attrs) {
  const el = h('select', attrs || {});
  for (const o of options) {
    if (o.group) {
      const g = h('optgroup', { label: o.group });
      for (const x of o.options) g.append(h('option', { value: x.value ?? x }, x.label ?? x));
      el.append(g);
    } else {
      el.append(h('option', { value: o.value ?? o }, o.label ?? o));
    }
  }
  if (value !== undefined && value !== null) el.value = value;
  return el;
}

export function fmtTime(s) {
  if (!s) return '—';
  return s.replace('T', ' ').replace('Z', ' UTC');
}

export function fmtInt(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '—';
}

export function fmtBytes(n) {
  if (typeof n !== 'number') return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function stateBadge(code) {
  const labels = { READY: 'Ready', INPROGRESS: 'In progress', DONE: 'Done', ERROR: 'Error' };
  return h('span', { class: `badge state-${String(code).toLowerCase()}`, 'data-state': code }, labels[code] || code);
}

// Replace the main area's content with nodes, and move focus there for keyboard users.
export function show(main, title, ...nodes) {
  main.replaceChildren(...nodes);
  document.title = `${title} · taskwheel console`;
}
