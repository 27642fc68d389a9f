// One task (GET /tasks/{id}): trigger, target, state, logs; live progress while INPROGRESS
// (from the "progress" log entry the run rewrites, reference §1); execute, download (a fresh
// signed link from download_url each time), edit and delete. Polls every second while the
// task runs and every 5 seconds otherwise, so a scheduled run shows up by itself.
import { api, ApiError } from '../api.js';
import { h, show, stateBadge, fmtTime, fmtInt, fmtBytes, fmtDuration } from '../dom.js';
import { describeSegment } from '../rules.js';

const FAST_MS = 1000;
const SLOW_MS = 5000;

function parseTime(s) {
  return s ? Date.parse(s) : NaN;
}

function dl(pairs) {
  return h('dl', { class: 'props' }, pairs.filter(Boolean).map(([k, v, id]) => [h('dt', {}, k), h('dd', id ? { id } : {}, v)]));
}

export function renderTask(main, { id, navigate }) {
  let alive = true;
  let timer = null;
  let task = null;

  const title = h('h1', { id: 'task-title' }, `Task ${id}`);
  const badge = h('span', { id: 'task-state' });
  const notice = h('p', { class: 'notice', id: 'task-notice', role: 'status', hidden: true });
  const error = h('p', { class: 'error', id: 'task-error', role: 'alert', hidden: true });
  const progress = h('section', { class: 'progress card', id: 'task-progress', 'aria-live': 'polite', hidden: true });
  const details = h('div', { class: 'grid2' });
  const logs = h('tbody', {});
  const logTable = h('table', { class: 'logs', id: 'task-logs' },
    h('caption', { class: 'sr-only' }, 'Logs, newest first'),
    h('thead', {}, h('tr', {}, ['Time', 'Message', 'Total', 'Success', 'Skips', 'Errors'].map((t) => h('th', { scope: 'col' }, t)))),
    logs);

  const execBtn = h('button', { type: 'button', class: 'primary', id: 'task-execute' }, 'Execute now');
  const dlBtn = h('button', { type: 'button', id: 'task-download', hidden: true }, 'Download result');
  const editLink = h('a', { class: 'button', id: 'task-edit', href: `#/tasks/${id}/edit` }, 'Edit');
  const delBtn = h('button', { type: 'button', class: 'danger', id: 'task-delete' }, 'Delete');
  const delConfirm = h('button', { type: 'button', class: 'danger', id: 'task-delete-confirm', hidden: true }, 'Yes, delete this task');
  const delCancel = h('button', { type: 'button', id: 'task-delete-cancel', hidden: true }, 'Keep it');
  const dlInfo = h('p', { class: 'muted', id: 'download-info', hidden: true });

  const say = (text) => {
    notice.textContent = text;
    notice.hidden = !text;
  };
  const fail = (e) => {
    error.textContent = e instanceof ApiError ? `${e.name}: ${e.description}` : String(e);
    error.hidden = false;
  };

  function renderProgress(t) {
    if (t.state.code !== 'INPROGRESS') {
      progress.hidden = true;
      return;
    }
    const p = (t.logs || []).find((l) => l.msg === 'progress');
    const start = parseTime(t.state.last_run_date);
    const elapsed = Number.isNaN(start) ? 0 : (Date.now() - start) / 1000;
    const children = [h('h2', {}, 'Running')];
    if (p) {
      const at = (parseTime(p.time) - start) / 1000;
      const rate = at > 0 ? p.total / at : null;
      children.push(h('p', { class: 'big', id: 'progress-count' }, `${fmtInt(p.total)} records so far`),
        dl([['Written', fmtInt(p.success), 'progress-success'], ['Skipped', fmtInt(p.skips)], ['Errors', fmtInt(p.errors)],
          ['Rate', rate === null ? '—' : `${rate.toFixed(1)} records/s`], ['Elapsed', fmtDuration(elapsed), 'progress-elapsed']]));
    } else {
      children.push(h('p', { class: 'big', id: 'progress-count' }, 'Starting…'), dl([['Elapsed', fmtDuration(elapsed), 'progress-elapsed']]));
    }
    children.push(h('div', { class: 'spinner', 'aria-hidden': 'true' }));
    progress.replaceChildren(...children);
    progress.hidden = false;
  }

  function render(t) {
    task = t;
    title.textContent = `Task ${t.id}: ${t.desc || '(no description)'}`;
    badge.replaceChildren(stateBadge(t.state.code));
    document.title = `Task ${t.id} · taskwheel console`;
    const trig = t.trigger;
    const seg = trig.segment_id ? `saved segment ${trig.segment_id}` : trig.segment ? describeSegment(trig.segment) : 'all records';
    details.replaceChildren(
      h('section', { class: 'card' }, h('h2', {}, 'Trigger'), dl([
        ['Next run', fmtTime(trig.once), 'trigger-once'],
        ['Repeat', trig.repeat || 'once'],
        trig.timezone ? ['Time zone', trig.timezone] : null,
        ['Records', seg, 'trigger-segment']])),
      h('section', { class: 'card' }, h('h2', {}, 'Target'), dl([
        ['Index', t.target.export_index, 'target-index'],
        ['Format', t.target.export_format],
        ['Compression', t.target.compression || 'none'],
        t.target.since ? ['Since', t.target.since] : null,
        ['Result', t.result || '—', 'task-result']])),
      h('section', { class: 'card' }, h('h2', {}, 'State'), dl([
        ['State', stateBadge(t.state.code)],
        ['Last run', fmtTime(t.state.last_run_date)],
        ['Created', fmtTime(t.state.created_date)],
        ['Changed', fmtTime(t.state.last_modified)],
        ['Version', String(t.version), 'task-version'],
        ['Chain', String(t.chain)],
        t.debug ? ['Debug', t.debug] : null])));
    logs.replaceChildren(...(t.logs || []).map((l) => h('tr', { class: l.msg === 'progress' ? 'progress-row' : '' },
      h('td', { 'data-label': 'Time' }, fmtTime(l.time)),
      h('td', { 'data-label': 'Message', class: 'msg' }, l.msg),
      h('td', { 'data-label': 'Total' }, fmtInt(l.total)),
      h('td', { 'data-label': 'Success' }, fmtInt(l.success)),
      h('td', { 'data-label': 'Skips' }, fmtInt(l.skips)),
      h('td', { 'data-label': 'Errors' }, fmtInt(l.errors)))));
    const running = t.state.code === 'INPROGRESS';
    execBtn.disabled = running;
    editLink.hidden = running;
    dlBtn.hidden = !t.result;
    renderProgress(t);
  }

  async function load() {
    clearTimeout(timer);
    try {
      const res = await api.get(`/tasks/${encodeURIComponent(id)}?log_limit=50`);
      if (!alive) return;
      error.hidden = true;
      render(res.body);
    } catch (e) {
      if (!alive) return;
      fail(e);
      if (e.status === 404) {
        details.replaceChildren();
        return;
      }
    }
    if (alive) timer = setTimeout(load, task && task.state.code === 'INPROGRESS' ? FAST_MS : SLOW_MS);
  }

  execBtn.addEventListener('click', async () => {
    execBtn.disabled = true;
    try {
      const res = await api.post(`/tasks/${encodeURIComponent(id)}/execute`, undefined, { headers: { Prefer: 'respond-async' } });
      say(res.status === 202 ? 'Run started.' : `Run finished: ${res.body && res.body.state ? res.body.state.code : 'done'}.`);
    } catch (e) {
      fail(e);
    }
    load();
  });

  dlBtn.addEventListener('click', async () => {
    try {
      const res = await api.get(`/tasks/${encodeURIComponent(id)}/download_url`);
      const d = res.body;
      dlInfo.replaceChildren(`${task.result}: ${fmtBytes(d.size)}, SHA-256 `, h('code', { id: 'download-sha256' }, d.sha256), `; link valid until ${fmtTime(d.expires)}.`);
      dlInfo.hidden = false;
      const a = h('a', { href: d.url, download: task.result || '', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      fail(e);
    }
  });

  delBtn.addEventListener('click', () => {
    delBtn.hidden = true;
    delConfirm.hidden = false;
    delCancel.hidden = false;
    delConfirm.focus();
  });
  delCancel.addEventListener('click', () => {
    delBtn.hidden = false;
    delConfirm.hidden = true;
    delCancel.hidden = true;
    delBtn.focus();
  });
  delConfirm.addEventListener('click', async () => {
    try {
      await api.del(`/tasks/${encodeURIComponent(id)}`);
      navigate('#/tasks');
    } catch (e) {
      fail(e);
    }
  });

  show(main, `Task ${id}`,
    h('p', { class: 'crumbs' }, h('a', { href: '#/tasks' }, '← All tasks')),
    h('div', { class: 'page-head' }, title, badge),
    h('div', { class: 'actions', role: 'group', 'aria-label': 'Task actions' }, execBtn, dlBtn, editLink, delBtn, delConfirm, delCancel),
    notice, error, dlInfo, progress, details,
    h('section', { class: 'card' }, h('h2', {}, 'Logs'), h('div', { class: 'table-wrap' }, logTable)));
  load();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
