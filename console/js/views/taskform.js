// Create (POST /tasks) or edit (PUT /tasks/{id}, with the version read, so two people cannot
// overwrite each other) a task. The service validates; its error is shown at the control that
// error.field names, and the browser checks only what it must to build the body.
import { api, qs, ApiError } from '../api.js';
import { h, field, select, show } from '../dom.js';
import { INDEXES, FORMATS } from '../fields.js';
import { ruleBuilder, clearErrors, showFieldError } from '../rules.js';

function named(el, path) {
  el.dataset.field = path;
  return el;
}

// field() with the control registered for error.field path.
function pfield(label, control, path, hint) {
  const wrap = field(label, control, hint);
  named(control, path);
  control.dataset.err = `${control.id}-err`;
  return wrap;
}

// JSON with sorted keys, to compare two objects by content.
function stable(v) {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

function utcInput(once) {
  return once ? once.replace(/Z$/, '') : '';
}

function defaultOnce() {
  const d = new Date(Date.now() + 3600 * 1000);
  d.setUTCMinutes(0, 0, 0);
  return d.toISOString().slice(0, 19);
}

export function renderTaskForm(main, { auth, id, navigate }) {
  const editing = Boolean(id);
  let alive = true;
  let original = null;

  const desc = h('input', { type: 'text', id: 'task-desc', maxlength: '1000', required: true });
  const chain = h('input', { type: 'text', id: 'task-chain', readonly: true, value: String(auth.chain) });
  const indexList = h('datalist', { id: 'index-list' }, INDEXES.map((i) => h('option', { value: i })));
  const formatList = h('datalist', { id: 'format-list' }, FORMATS.map((f) => h('option', { value: f })));
  const index = h('input', { type: 'text', id: 'task-index', list: 'index-list', value: 'users', autocomplete: 'off', spellcheck: 'false' });
  const format = h('input', { type: 'text', id: 'task-format', list: 'format-list', value: 'csv', autocomplete: 'off', spellcheck: 'false' });
  const compression = select([{ value: '', label: 'none' }, { value: 'gzip', label: 'gzip' }], '', { id: 'task-compression' });
  const since = select([{ value: '', label: 'every record (full export)' }, { value: 'last_success', label: 'changes since the last good run' }], '', { id: 'task-since' });
  const once = h('input', { type: 'datetime-local', id: 'task-once', step: '1', value: defaultOnce() });
  const repeat = select([{ value: '', label: 'once' }, 'daily', 'weekly', 'monthly'], '', { id: 'task-repeat' });
  const timezone = h('input', { type: 'text', id: 'task-timezone', placeholder: 'Europe/Amsterdam', autocomplete: 'off' });
  const debug = h('input', { type: 'text', id: 'task-debug' });

  const modeAll = h('input', { type: 'radio', name: 'seg-mode', value: 'all', id: 'seg-all', checked: true });
  const modeRules = h('input', { type: 'radio', name: 'seg-mode', value: 'rules', id: 'seg-rules' });
  const modeSaved = h('input', { type: 'radio', name: 'seg-mode', value: 'saved', id: 'seg-saved' });
  const rules = ruleBuilder('trigger.segment', () => index.value.trim());
  const savedSel = select([{ value: '', label: '(choose a saved segment)' }], '', { id: 'task-segment-id' });
  const savedBox = h('div', { hidden: true }, pfield('Saved segment', savedSel, 'trigger.segment_id'));
  const rulesBox = h('div', { hidden: true, id: 'rules-box' }, rules.el);
  const syncMode = () => {
    rulesBox.hidden = !modeRules.checked;
    savedBox.hidden = !modeSaved.checked;
  };
  for (const m of [modeAll, modeRules, modeSaved]) m.addEventListener('change', syncMode);
  index.addEventListener('change', () => rules.refreshFields());

  const summary = h('div', { class: 'error', id: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'task-submit' }, editing ? 'Save changes' : 'Create task');
  const segErr = h('p', { class: 'field-error', id: 'segment-err', hidden: true, role: 'alert' });
  const segFieldset = h('fieldset', { class: 'card', tabindex: '-1', 'data-field': 'trigger.segment', 'data-err': 'segment-err' },
    h('legend', {}, 'Records'),
    segErr,
    h('div', { class: 'radios' },
      h('label', { for: 'seg-all' }, modeAll, ' all records of the chain'),
      h('label', { for: 'seg-rules' }, modeRules, ' records matching rules'),
      h('label', { for: 'seg-saved' }, modeSaved, ' a saved segment')),
    rulesBox, savedBox);
  const trigErr = h('p', { class: 'field-error', id: 'trigger-err', hidden: true, role: 'alert' });
  const targErr = h('p', { class: 'field-error', id: 'target-err', hidden: true, role: 'alert' });

  const form = h('form', { id: 'task-form', class: 'stack', novalidate: true },
    summary,
    h('fieldset', { class: 'card' }, h('legend', {}, 'Task'),
      pfield('Description', desc, 'desc'),
      pfield('Chain', chain, 'chain', 'Switch chains on the task list.'),
      pfield('Debug note (optional)', debug, 'debug')),
    h('fieldset', { class: 'card', tabindex: '-1', 'data-field': 'target', 'data-err': 'target-err' }, h('legend', {}, 'Target'), targErr,
      indexList, formatList,
      h('div', { class: 'row' },
        pfield('Index', index, 'target.export_index'),
        pfield('Format', format, 'target.export_format', 'csv, json, or an installed Lua format'),
        pfield('Compression', compression, 'target.compression'),
        pfield('Records exported', since, 'target.since'))),
    h('fieldset', { class: 'card', tabindex: '-1', 'data-field': 'trigger', 'data-err': 'trigger-err' }, h('legend', {}, 'Trigger'), trigErr,
      h('div', { class: 'row' },
        pfield('First run (UTC)', once, 'trigger.once', 'A time in the past runs as soon as a worker is free.'),
        pfield('Repeat', repeat, 'trigger.repeat'),
        pfield('Time zone (optional)', timezone, 'trigger.timezone', 'IANA name; repeats follow its wall clock.'))),
    segFieldset,
    h('div', { class: 'actions' }, submit, h('a', { class: 'button', href: editing ? `#/tasks/${id}` : '#/tasks' }, 'Cancel')));

  function fill(t) {
    desc.value = t.desc || '';
    debug.value = t.debug || '';
    index.value = t.target.export_index;
    format.value = t.target.export_format;
    compression.value = t.target.compression || '';
    since.value = t.target.since || '';
    once.value = utcInput(t.trigger.once);
    repeat.value = t.trigger.repeat || '';
    timezone.value = t.trigger.timezone || '';
    rules.refreshFields();
    if (t.trigger.segment_id) {
      modeSaved.checked = true;
      savedSel.value = String(t.trigger.segment_id);
    } else if (t.trigger.segment) {
      modeRules.checked = true;
      rules.set(t.trigger.segment);
    }
    syncMode();
  }

  function build() {
    const target = { action: 'export', export_index: index.value.trim(), export_format: format.value.trim() };
    if (compression.value) target.compression = compression.value;
    if (since.value) target.since = since.value;
    const o = once.value.trim();
    const trigger = { once: o ? (o.length === 16 ? `${o}:00Z` : `${o}Z`) : '' };
    trigger.repeat = repeat.value;
    if (timezone.value.trim()) trigger.timezone = timezone.value.trim();
    if (modeRules.checked) trigger.segment = { ...rules.value(), index: target.export_index, chain_id: auth.chain };
    if (modeSaved.checked) trigger.segment_id = savedSel.value;
    return { desc: desc.value, target, trigger, debug: debug.value };
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    summary.hidden = true;
    let body;
    try {
      body = build();
    } catch (e) {
      if (e && e.field && showFieldError(form, e.field, e.message)) return;
      summary.textContent = String(e.message || e);
      summary.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      let res;
      if (editing) {
        const change = { desc: body.desc, target: body.target, debug: body.debug, version: original.version };
        // Send the trigger only when it changed: a new trigger reschedules the task (reference §2).
        if (stable(body.trigger) !== stable(original.trigger)) change.trigger = body.trigger;
        res = await api.put(`/tasks/${encodeURIComponent(id)}`, change);
      } else {
        res = await api.post('/tasks', { chain: auth.chain, ...body });
      }
      navigate(`#/tasks/${res.body.id}`);
    } catch (e) {
      submit.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      const at = e.field ? showFieldError(form, e.field, e.description) : null;
      if (!at) {
        summary.textContent = `${e.name}: ${e.description}`;
        summary.hidden = false;
        summary.focus();
      }
    }
  });

  show(main, editing ? `Edit task ${id}` : 'New task',
    h('p', { class: 'crumbs' }, h('a', { href: editing ? `#/tasks/${id}` : '#/tasks' }, editing ? `← Task ${id}` : '← All tasks')),
    h('h1', {}, editing ? `Edit task ${id}` : 'New task'),
    form);

  api.get(`/segments${qs({ chain: auth.chain })}`).then((res) => {
    if (!alive) return;
    const keep = savedSel.value;
    savedSel.replaceChildren(h('option', { value: '' }, '(choose a saved segment)'),
      ...res.body.map((s) => h('option', { value: s.id }, `${s.name} (#${s.id})`)));
    savedSel.value = keep;
  }).catch(() => {});

  if (editing) {
    submit.disabled = true;
    api.get(`/tasks/${encodeURIComponent(id)}?log_limit=0`).then((res) => {
      if (!alive) return;
      original = res.body;
      fill(original);
      submit.disabled = false;
    }).catch((e) => {
      summary.textContent = e instanceof ApiError ? `${e.name}: ${e.description}` : String(e);
      summary.hidden = false;
    });
  }
  return () => {
    alive = false;
  };
}
