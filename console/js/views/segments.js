// Saved segments of the chain (reference §6.4): list, create with the rule builder, delete
// (a segment that tasks use is refused with the service's segment_in_use message), and a link
// to a new task that uses one.
import { api, qs, ApiError } from '../api.js';
import { h, field, show, fmtTime } from '../dom.js';
import { INDEXES } from '../fields.js';
import { ruleBuilder, describeSegment, clearErrors, showFieldError } from '../rules.js';

export function renderSegments(main, { auth }) {
  let alive = true;
  const body = h('tbody', {});
  const listError = h('p', { class: 'error', role: 'alert', id: 'segments-error', hidden: true });
  const table = h('table', { class: 'segments', id: 'segment-table' },
    h('caption', { class: 'sr-only' }, `Saved segments of chain ${auth.chain}`),
    h('thead', {}, h('tr', {}, ['ID', 'Name', 'Rules', 'Changed', ''].map((t) => h('th', { scope: 'col' }, t)))),
    body);

  const name = h('input', { type: 'text', id: 'segment-name', maxlength: '200' });
  const index = h('input', { type: 'text', id: 'segment-index', list: 'segment-index-list', autocomplete: 'off', placeholder: '(any index)' });
  const indexList = h('datalist', { id: 'segment-index-list' }, INDEXES.map((i) => h('option', { value: i })));
  const rules = ruleBuilder('segment', () => index.value.trim());
  index.addEventListener('change', () => rules.refreshFields());
  const summary = h('div', { class: 'error', role: 'alert', id: 'segment-form-error', tabindex: '-1', hidden: true });
  const nameF = field('Name', name);
  name.dataset.field = 'name';
  name.dataset.err = `${name.id}-err`;
  const indexF = field('Index (optional)', index, 'When given, the rules are checked against this index now.');
  index.dataset.field = 'segment.index';
  index.dataset.err = `${index.id}-err`;
  const form = h('form', { class: 'card stack', id: 'segment-form', novalidate: true },
    h('h2', {}, 'New saved segment'), summary, indexList, nameF, indexF, rules.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'segment-submit' }, 'Save segment')));

  function row(s) {
    const del = h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete segment ${s.name}` }, 'Delete');
    del.addEventListener('click', async () => {
      if (del.dataset.armed !== '1') {
        del.dataset.armed = '1';
        del.textContent = 'Confirm delete';
        return;
      }
      try {
        await api.del(`/segments/${encodeURIComponent(s.id)}`);
        load();
      } catch (e) {
        listError.textContent = e instanceof ApiError ? `${e.name}: ${e.description}` : String(e);
        listError.hidden = false;
      }
    });
    return h('tr', { 'data-segment': s.id },
      h('td', { 'data-label': 'ID' }, s.id),
      h('td', { 'data-label': 'Name' }, s.name),
      h('td', { 'data-label': 'Rules', class: 'desc' }, `${s.segment.index ? s.segment.index + ': ' : ''}${describeSegment(s.segment)}`),
      h('td', { 'data-label': 'Changed' }, fmtTime(s.last_modified)),
      h('td', {}, del));
  }

  async function load() {
    try {
      const res = await api.get(`/segments${qs({ chain: auth.chain })}`);
      if (!alive) return;
      listError.hidden = true;
      body.replaceChildren(...res.body.map(row));
      if (res.body.length === 0) body.append(h('tr', {}, h('td', { colspan: '5', class: 'muted' }, 'No saved segments yet.')));
    } catch (e) {
      if (!alive) return;
      listError.textContent = e instanceof ApiError ? `${e.name}: ${e.description}` : String(e);
      listError.hidden = false;
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    summary.hidden = true;
    let segment;
    try {
      segment = { ...rules.value(), chain_id: auth.chain };
      if (index.value.trim()) segment.index = index.value.trim();
    } catch (e) {
      if (!(e && e.field && showFieldError(form, e.field, e.message))) {
        summary.textContent = String(e.message || e);
        summary.hidden = false;
      }
      return;
    }
    try {
      await api.post('/segments', { chain: auth.chain, name: name.value, segment });
      name.value = '';
      rules.set(null);
      load();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (!(e.field && showFieldError(form, e.field, e.description))) {
        summary.textContent = `${e.name}: ${e.description}`;
        summary.hidden = false;
        summary.focus();
      }
    }
  });

  show(main, 'Segments',
    h('h1', {}, `Saved segments of chain ${auth.chain}`),
    h('p', { class: 'muted' }, 'A task that uses a saved segment reads it as it is at each run. Choose one under “Records” in the task form.'),
    listError,
    h('div', { class: 'table-wrap' }, table),
    form);
  load();
  return () => {
    alive = false;
  };
}
