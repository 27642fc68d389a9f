// The segment rule builder (reference §6, docs/segments.md): join, and a list of rules, each
// with the keys its operator takes. Every control carries data-field with the path the service
// uses in error.field ("trigger.segment.rules[1].operator"), so showFieldError() can put the
// service's message next to the control it names.
import { h, field, select, nextId } from './dom.js';
import { INDEX_FIELDS } from './fields.js';

// Operator -> the rule keys it takes (besides field_name/field_type/nested).
export const OPERATORS = {
  is: ['value'],
  is_not: ['value'],
  contains: ['value'],
  does_not_contain: ['value'],
  is_date: ['value'],
  is_after_date: ['start_date'],
  is_before_date: ['end_date'],
  is_between_date: ['start_date', 'end_date'],
  is_between_number: ['min', 'max'],
  is_greater_than: ['value'],
  is_less_than: ['value'],
  relative_less_than: ['time_amount', 'time_factor'],
  relative_more_than: ['time_amount', 'time_factor'],
  exists: [],
  does_not_exist: [],
  script: ['script', 'params'],
};

const OP_GROUPS = [
  { group: 'Text, keyword, number, boolean', options: [
    { value: 'is', label: 'is' }, { value: 'is_not', label: 'is not' }] },
  { group: 'Text and keyword', options: [
    { value: 'contains', label: 'contains' }, { value: 'does_not_contain', label: 'does not contain' }] },
  { group: 'Number', options: [
    { value: 'is_greater_than', label: 'is greater than' }, { value: 'is_less_than', label: 'is less than' },
    { value: 'is_between_number', label: 'is between (numbers)' }] },
  { group: 'Date', options: [
    { value: 'is_date', label: 'is on the day' }, { value: 'is_after_date', label: 'is after' },
    { value: 'is_before_date', label: 'is before' }, { value: 'is_between_date', label: 'is between (dates)' },
    { value: 'relative_less_than', label: 'is newer than … ago' }, { value: 'relative_more_than', label: 'is older than … ago' }] },
  { group: 'Any field', options: [
    { value: 'exists', label: 'exists' }, { value: 'does_not_exist', label: 'does not exist' }] },
  { group: 'Lua', options: [{ value: 'script', label: 'script (installed Lua rule)' }] },
];

const FIELD_TYPES = ['keyword', 'text', 'number', 'date', 'boolean'];
const FACTORS = ['minute', 'hour', 'day', 'week', 'month', 'year'];

// A number when the text is one, else the text itself (so the service names the bad field).
function num(s) {
  const t = String(s).trim();
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

// A control that can hold a service error: data-field and the id of its message element.
function errorTarget(el, path, errEl) {
  el.dataset.field = path;
  el.dataset.err = errEl.id;
  return el;
}

function ruleEditor(builder, initial) {
  const legend = h('legend', {});
  const errBox = h('p', { class: 'field-error', id: nextId('rule-err'), hidden: true, role: 'alert' });
  const operator = select(OP_GROUPS, initial?.operator || 'is', { class: 'rule-operator' });
  const fieldName = h('input', { type: 'text', class: 'rule-field-name', autocomplete: 'off', spellcheck: 'false' });
  const fieldType = select(FIELD_TYPES, initial?.field_type || 'keyword', { class: 'rule-field-type' });
  const value = h('input', { type: 'text', class: 'rule-value', autocomplete: 'off' });
  const valueBool = select([{ value: 'true', label: 'true' }, { value: 'false', label: 'false' }], 'true', { class: 'rule-value-bool' });
  const startDate = h('input', { type: 'text', class: 'rule-start-date', placeholder: '2026-05-01 or 2026-05-01T12:00:00Z' });
  const endDate = h('input', { type: 'text', class: 'rule-end-date', placeholder: '2026-05-31 or 2026-05-31T23:59:59Z' });
  const min = h('input', { type: 'text', class: 'rule-min', inputmode: 'decimal' });
  const max = h('input', { type: 'text', class: 'rule-max', inputmode: 'decimal' });
  const amount = h('input', { type: 'text', class: 'rule-time-amount', inputmode: 'numeric' });
  const factor = select(FACTORS, 'day', { class: 'rule-time-factor' });
  const nested = h('input', { type: 'checkbox', class: 'rule-nested', id: nextId('nested') });
  const path = h('input', { type: 'text', class: 'rule-nesting-path', placeholder: 'items' });
  const script = h('input', { type: 'text', class: 'rule-script', placeholder: 'high_value' });
  const params = h('textarea', { class: 'rule-params', rows: '2', placeholder: '{"min_spend": 500}' });
  const remove = h('button', { type: 'button', class: 'link rule-remove' }, 'Remove rule');

  const fName = field('Field', fieldName, 'A filterable field of the index (suggested as you type).');
  fieldName.setAttribute('list', builder.datalist.id);
  const fType = field('Field type', fieldType);
  const fOp = field('Operator', operator);
  const fValue = field('Value', value, 'For “is” and “is not”, separate several values with commas.');
  const fBool = field('Value', valueBool);
  const fStart = field('Start date', startDate);
  const fEnd = field('End date', endDate);
  const fMin = field('Minimum', min);
  const fMax = field('Maximum', max);
  const fAmount = field('Amount', amount);
  const fFactor = field('Unit', factor);
  const fNested = h('div', { class: 'field check' }, nested, h('label', { for: nested.id }, 'Field of a nested list (any element matches)'),
    h('p', { class: 'field-error', id: `${nested.id}-err`, hidden: true, role: 'alert' }));
  fNested.control = nested;
  const fPath = field('Nesting path', path);
  const fScript = field('Script name', script, 'An installed script in lua_dir/segments.');
  const fParams = field('Parameters (JSON object)', params);

  const keyed = { operator: fOp, field_name: fName, field_type: fType, value: fValue, start_date: fStart, end_date: fEnd,
    min: fMin, max: fMax, time_amount: fAmount, time_factor: fFactor, nested: fNested, nesting_path: fPath, script: fScript, params: fParams };

  const box = h('fieldset', { class: 'rule', tabindex: '-1' }, legend, errBox,
    h('div', { class: 'rule-grid' }, fOp, fName, fType, fValue, fBool, fStart, fEnd, fMin, fMax, fAmount, fFactor, fScript, fParams, fNested, fPath),
    h('div', { class: 'actions' }, remove));

  function sync() {
    const op = operator.value;
    const keys = OPERATORS[op] || [];
    const isScript = op === 'script';
    fName.hidden = isScript;
    fType.hidden = isScript;
    const boolValue = fieldType.value === 'boolean' && keys.includes('value');
    fValue.hidden = !keys.includes('value') || boolValue;
    fBool.hidden = !boolValue;
    fStart.hidden = !keys.includes('start_date');
    fEnd.hidden = !keys.includes('end_date');
    fMin.hidden = !keys.includes('min');
    fMax.hidden = !keys.includes('max');
    fAmount.hidden = !keys.includes('time_amount');
    fFactor.hidden = !keys.includes('time_factor');
    fScript.hidden = !isScript;
    fParams.hidden = !isScript;
    fNested.hidden = isScript;
    fPath.hidden = isScript || !nested.checked;
  }

  fieldName.addEventListener('change', () => {
    const known = (INDEX_FIELDS[builder.index()] || {})[fieldName.value];
    if (known) fieldType.value = known;
    if (fieldName.value.startsWith('items.') && !nested.checked) {
      nested.checked = true;
      path.value = 'items';
    }
    sync();
  });
  operator.addEventListener('change', sync);
  fieldType.addEventListener('change', sync);
  nested.addEventListener('change', sync);
  remove.addEventListener('click', () => builder.remove(editor));

  if (initial) {
    fieldName.value = initial.field_name || '';
    if (initial.value !== undefined) {
      if (typeof initial.value === 'boolean') valueBool.value = String(initial.value);
      else value.value = Array.isArray(initial.value) ? initial.value.join(', ') : String(initial.value);
    }
    startDate.value = initial.start_date || '';
    endDate.value = initial.end_date || '';
    min.value = initial.min ?? '';
    max.value = initial.max ?? '';
    amount.value = initial.time_amount ?? '';
    if (initial.time_factor) factor.value = initial.time_factor;
    nested.checked = Boolean(initial.nested);
    path.value = initial.nesting_path || '';
    script.value = initial.script || '';
    params.value = initial.params ? JSON.stringify(initial.params) : '';
  }
  sync();

  const editor = {
    el: box,
    // Number this rule i under prefix: legend and every data-field path.
    number(prefix, i) {
      legend.textContent = `Rule ${i + 1}`;
      remove.setAttribute('aria-label', `Remove rule ${i + 1}`);
      errorTarget(box, `${prefix}.rules[${i}]`, errBox);
      for (const [k, wrap] of Object.entries(keyed)) {
        errorTarget(wrap.control, `${prefix}.rules[${i}].${k}`, wrap.querySelector('.field-error'));
      }
      errorTarget(valueBool, `${prefix}.rules[${i}].value`, fBool.querySelector('.field-error'));
    },
    // The rule object, or throws {field, message} for what the browser itself can tell.
    value(prefix, i) {
      const op = operator.value;
      const keys = OPERATORS[op];
      const r = {};
      if (op !== 'script') {
        r.field_name = fieldName.value.trim();
        r.field_type = fieldType.value;
      }
      r.operator = op;
      for (const k of keys) {
        if (k === 'value') {
          if (fieldType.value === 'boolean') r.value = valueBool.value === 'true';
          else {
            const raw = value.value;
            const many = (op === 'is' || op === 'is_not') && raw.includes(',');
            const parts = many ? raw.split(',').map((s) => s.trim()) : [raw];
            const conv = parts.map((s) => (fieldType.value === 'number' ? num(s) : s));
            r.value = many ? conv : conv[0];
          }
        } else if (k === 'min' || k === 'max' || k === 'time_amount') {
          r[k] = num((k === 'min' ? min : k === 'max' ? max : amount).value);
        } else if (k === 'start_date') r.start_date = startDate.value.trim();
        else if (k === 'end_date') r.end_date = endDate.value.trim();
        else if (k === 'time_factor') r.time_factor = factor.value;
        else if (k === 'script') r.script = script.value.trim();
        else if (k === 'params') {
          const t = params.value.trim();
          if (t) {
            try {
              r.params = JSON.parse(t);
            } catch (e) {
              throw { field: `${prefix}.rules[${i}].params`, message: `${prefix}.rules[${i}].params: not JSON (${e.message})` };
            }
          }
        }
      }
      if (op !== 'script' && nested.checked) {
        r.nested = true;
        r.nesting_path = path.value.trim();
      }
      return r;
    },
    focus() {
      operator.focus();
    },
  };
  return editor;
}

// A rule builder for the segment at prefix ("trigger.segment" or "segment"); index() gives the
// export index the fields are suggested from.
export function ruleBuilder(prefix, index) {
  const datalist = h('datalist', { id: nextId('fields') });
  const list = h('div', { class: 'rules' });
  const joinErr = h('p', { class: 'field-error', id: nextId('join-err'), hidden: true, role: 'alert' });
  const join = select([{ value: 'all', label: 'all rules (AND)' }, { value: 'any', label: 'any rule (OR)' }], 'all', { id: nextId('join') });
  errorTarget(join, `${prefix}.join`, joinErr);
  const add = h('button', { type: 'button', class: 'add-rule' }, '+ Add rule');
  const empty = h('p', { class: 'muted' }, 'No rules: every record of the chain is exported.');
  const editors = [];

  const builder = {
    datalist,
    index,
    remove(ed) {
      const i = editors.indexOf(ed);
      if (i >= 0) editors.splice(i, 1);
      ed.el.remove();
      renumber();
      (editors[Math.max(0, i - 1)] || { focus: () => add.focus() }).focus();
    },
  };

  function renumber() {
    editors.forEach((ed, i) => ed.number(prefix, i));
    empty.hidden = editors.length > 0;
  }

  function addRule(initial) {
    const ed = ruleEditor(builder, initial);
    editors.push(ed);
    list.append(ed.el);
    renumber();
    return ed;
  }

  function refreshFields() {
    const fields = Object.keys(INDEX_FIELDS[index()] || {});
    datalist.replaceChildren(...fields.map((f) => h('option', { value: f })));
  }

  add.addEventListener('click', () => addRule().focus());
  refreshFields();
  renumber();

  const el = h('div', { class: 'rule-builder' }, datalist,
    h('div', { class: 'field' }, h('label', { for: join.id }, 'Records must match'), join, joinErr),
    empty, list, add);

  return {
    el,
    refreshFields,
    addRule,
    set(seg) {
      for (const ed of editors.splice(0)) ed.el.remove();
      join.value = seg?.join || 'all';
      for (const r of seg?.rules || []) addRule(r);
      renumber();
    },
    // The segment object ({entity, join, rules}); throws {field, message} on local errors.
    value() {
      return { entity: 'people', join: join.value, rules: editors.map((ed, i) => ed.value(prefix, i)) };
    },
    count: () => editors.length,
  };
}

// A one-line description of a segment for the task page.
export function describeSegment(seg) {
  const rules = seg.rules || [];
  if (rules.length === 0) return 'all records';
  const one = (r) => {
    if (r.operator === 'script') return `script ${r.script}`;
    const keys = OPERATORS[r.operator] || [];
    const vals = keys.map((k) => (Array.isArray(r[k]) ? r[k].join(' | ') : r[k])).filter((v) => v !== undefined);
    return `${r.field_name} ${r.operator.replace(/_/g, ' ')}${vals.length ? ' ' + vals.join(' ') : ''}`;
  };
  return `${rules.map(one).join(seg.join === 'any' ? ' OR ' : ' AND ')}`;
}

// Clear every error shown in root.
export function clearErrors(root) {
  for (const el of root.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid');
  for (const el of root.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
}

// Show message at the control whose data-field is path, or its nearest named parent path
// ("a.rules[1].value" -> "a.rules[1]" -> "a"); returns the control, or null when none fits.
export function showFieldError(root, path, message) {
  let p = path;
  while (p) {
    const el = [...root.querySelectorAll('[data-field]')].find((x) => x.dataset.field === p && !x.closest('[hidden]'))
      || [...root.querySelectorAll('[data-field]')].find((x) => x.dataset.field === p);
    if (el) {
      const errEl = document.getElementById(el.dataset.err);
      if (errEl) {
        errEl.textContent = message;
        errEl.hidden = false;
        const ids = new Set((el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
        ids.add(errEl.id);
        el.setAttribute('aria-describedby', [...ids].join(' '));
      }
      el.setAttribute('aria-invalid', 'true');
      el.focus();
      return el;
    }
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
  return null;
}
