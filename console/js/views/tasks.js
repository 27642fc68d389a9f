// The task list of one chain (GET /tasks?chain=N), with state filters, paging by
// X-Total-Count, and live updates by polling every 3 seconds while the page is visible.
import { api, qs, setChain, ApiError } from '../api.js';
import { h, show, stateBadge, fmtTime, fmtInt, field } from '../dom.js';

const POLL_MS = 3000;
const PAGE = 50;
const FILTERS = [
  ['', 'All'],
  ['READY', 'Ready'],
  ['INPROGRESS', 'In progress'],
  ['DONE', 'Done'],
  ['ERROR', 'Error'],
];

export function renderTasks(main, { auth, navigate, query }) {
  const status = query.get('status') || '';
  const offset = Math.max(0, Number(query.get('offset')) || 0);
  let timer = null;
  let alive = true;

  const filterNav = h('nav', { class: 'filters', 'aria-label': 'Filter by state' },
    FILTERS.map(([code, label]) => h('a', {
      href: `#/tasks${qs({ status: code })}`,
      'aria-current': code === status ? 'true' : null,
      'data-filter': code || 'ALL',
    }, label)));

  const chainInput = h('input', { type: 'number', min: '1', step: '1', value: String(auth.chain), id: 'chain-switch', inputmode: 'numeric' });
  const chainForm = h('form', { class: 'inline', id: 'chain-form' }, field('Chain', chainInput), h('button', { type: 'submit' }, 'Switch'));
  chainForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const c = Number(chainInput.value);
    if (Number.isInteger(c) && c > 0) {
      setChain(c);
      navigate('#/tasks');
    }
  });

  const body = h('tbody', {});
  const table = h('table', { class: 'tasks', id: 'task-table' },
    h('caption', { class: 'sr-only' }, `Tasks of chain ${auth.chain}`),
    h('thead', {}, h('tr', {},
      ['ID', 'Description', 'State', 'Export', 'Next run', 'Repeat', 'Last run', 'Latest log'].map((t) => h('th', { scope: 'col' }, t)))),
    body);
  const status_ = h('p', { class: 'muted live', id: 'list-status', 'aria-live': 'polite' }, 'Loading…');
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const pager = h('div', { class: 'pager' });

  function row(t) {
    const log = t.logs && t.logs[0];
    const link = h('a', { href: `#/tasks/${t.id}` }, String(t.id));
    return h('tr', { 'data-task': t.id },
      h('td', { 'data-label': 'ID' }, link),
      h('td', { 'data-label': 'Description', class: 'desc' }, h('a', { href: `#/tasks/${t.id}`, tabindex: '-1' }, t.desc || '(no description)')),
      h('td', { 'data-label': 'State' }, stateBadge(t.state.code)),
      h('td', { 'data-label': 'Export' }, `${t.target.export_index} · ${t.target.export_format}${t.target.compression ? ' · ' + t.target.compression : ''}`),
      h('td', { 'data-label': 'Next run' }, fmtTime(t.trigger.once)),
      h('td', { 'data-label': 'Repeat' }, t.trigger.repeat || 'once'),
      h('td', { 'data-label': 'Last run' }, fmtTime(t.state.last_run_date)),
      h('td', { 'data-label': 'Latest log', class: 'log' }, log ? `${log.msg}${typeof log.total === 'number' ? ` (${fmtInt(log.success)} of ${fmtInt(log.total)})` : ''}` : '—'));
  }

  async function load() {
    try {
      const res = await api.get(`/tasks${qs({ chain: auth.chain, status, limit: PAGE, offset })}`);
      if (!alive) return;
      const total = Number(res.headers.get('X-Total-Count')) || 0;
      body.replaceChildren(...res.body.map(row));
      if (res.body.length === 0) body.append(h('tr', {}, h('td', { colspan: '8', class: 'muted' }, status ? 'No tasks in this state.' : 'No tasks yet. Create one with “New task”.')));
      status_.textContent = `${total} task${total === 1 ? '' : 's'} · updated ${new Date().toLocaleTimeString('en-GB')} · refreshes every ${POLL_MS / 1000} s`;
      error.hidden = true;
      pager.replaceChildren(...[
        offset > 0 ? h('a', { href: `#/tasks${qs({ status, offset: Math.max(0, offset - PAGE) })}` }, '← Newer') : null,
        total > offset + PAGE ? h('a', { href: `#/tasks${qs({ status, offset: offset + PAGE })}` }, 'Older →') : null].filter(Boolean));
    } catch (e) {
      if (!alive) return;
      error.textContent = e instanceof ApiError ? `${e.name}: ${e.description}` : String(e);
      error.hidden = false;
    }
    if (alive) timer = setTimeout(load, POLL_MS);
  }

  show(main, 'Tasks',
    h('div', { class: 'page-head' }, h('h1', {}, `Tasks of chain ${auth.chain}`), h('a', { class: 'button primary', href: '#/new', id: 'new-task' }, 'New task')),
    h('div', { class: 'toolbar' }, filterNav, chainForm),
    error,
    h('div', { class: 'table-wrap' }, table),
    pager,
    status_);
  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
