// The response validator (validate.mjs) against docs/openapi.yaml: responses the document
// describes pass, and each kind of misfit is refused with a message naming it. Run by ctest
// (openapi_validator): node selftest.mjs docs/openapi.yaml
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const doc = process.argv[2];

const json = (o) => Buffer.from(JSON.stringify(o)).toString('base64');
const rid = ['X-Request-Id', '0123456789abcdef'];
const ctJson = ['Content-Type', 'application/json'];
const err = (code, name, extra = {}) =>
  json({ result: { code: 2, status: 'error' }, error: { code, name, description: 'why', ...extra } });
const task = {
  id: 7, chain: 1764, desc: 'd',
  state: { code: 'READY', last_run_date: null, last_modified: '2026-05-26T12:00:00Z', created_date: '2026-05-26T12:00:00Z' },
  trigger: { once: '2026-05-27T12:00:00Z', repeat: 'daily' },
  target: { action: 'export', export_index: 'users', export_format: 'csv' },
  logs: [{ msg: 'success', time: '2026-05-26T12:00:04Z', total: 3, errors: 0, skips: 0, success: 3 }],
  debug: '', version: 3, result: 'User_Export-7.csv',
};

// [what, record, expected: '' (passes) or a substring of the verdict]
const cases = [
  ['a task', { method: 'GET', target: '/tasks/7?log_limit=5', status: 200, headers: [rid, ctJson], body: json(task) }, ''],
  ['a task with a webhook', { method: 'GET', target: '/tasks/7', status: 200, headers: [rid, ctJson],
    body: json({ ...task, webhook: { url: 'https://hooks.example.com/x', events: ['DONE'] } }) }, ''],
  ['HEAD falls back to GET', { method: 'HEAD', target: '/tasks/7', status: 200, headers: [rid, ctJson], body: '' }, ''],
  ['a 400 envelope', { method: 'POST', target: '/tasks', status: 400, headers: [rid, ctJson],
    body: err(101, 'validation_failed', { field: 'trigger.repeat' }) }, ''],
  ['an unknown path answered 404', { method: 'GET', target: '/nope', status: 404, headers: [rid, ctJson], body: err(119, 'not_found') }, ''],
  ['an unlisted method answered 405', { method: 'PATCH', target: '/tasks', status: 405,
    headers: [rid, ['Allow', 'GET, POST, HEAD, OPTIONS'], ctJson], body: err(108, 'method_not_allowed') }, ''],
  ['metrics text', { method: 'GET', target: '/metrics', status: 200,
    headers: [rid, ['Content-Type', 'text/plain; version=0.0.4; charset=utf-8']], body: Buffer.from('x 1\n').toString('base64') }, ''],
  ['a 206 range', { method: 'GET', target: '/downloads/1/7/User_Export-7.csv?expires=1&sha256=00&sig=00', status: 206,
    headers: [rid, ['Content-Type', 'text/csv'], ['Content-Disposition', 'attachment; filename="User_Export-7.csv"'],
      ['Content-Length', '3'], ['Content-Range', 'bytes 0-2/10'], ['ETag', '"ab"'], ['Last-Modified', 'x'],
      ['Accept-Ranges', 'bytes'], ['Cache-Control', 'private, no-store']], body: Buffer.from('a,b').toString('base64') }, ''],

  ['an HTTP-layer refusal', { method: 'GET', target: '/tasks', status: 400, headers: [['Content-Type', 'text/html']],
    body: Buffer.from('<HTML></HTML>').toString('base64') }, ''],
  ['an HTML page of another status', { method: 'GET', target: '/tasks', status: 404, headers: [rid, ['Content-Type', 'text/html']],
    body: Buffer.from('<HTML></HTML>').toString('base64') }, 'not documented'],
  ['an unknown path not answered 404', { method: 'GET', target: '/nope', status: 200, headers: [rid, ctJson], body: json({}) }, 'is not in the document'],
  ['an unlisted method not answered 405', { method: 'PATCH', target: '/tasks', status: 200, headers: [rid, ctJson], body: json([]) }, 'PATCH is not documented for /tasks'],
  ['an undocumented status', { method: 'GET', target: '/tasks', status: 418, headers: [rid, ctJson], body: err(101, 'validation_failed') }, 'status 418 is not documented'],
  ['a missing required header', { method: 'GET', target: '/tasks', status: 200, headers: [rid, ctJson], body: json([]) }, 'header X-Total-Count is required'],
  ['a header of the wrong form', { method: 'GET', target: '/tasks', status: 200, headers: [rid, ['X-Total-Count', 'many'], ctJson], body: json([]) }, 'header X-Total-Count'],
  ['an undocumented Content-Type', { method: 'GET', target: '/tasks/7', status: 200, headers: [rid, ['Content-Type', 'text/html']], body: json(task) }, 'Content-Type text/html is not documented'],
  ['a body that is not JSON', { method: 'GET', target: '/tasks/7', status: 200, headers: [rid, ctJson], body: Buffer.from('{').toString('base64') }, 'body is not JSON'],
  ['a task with an unknown key', { method: 'GET', target: '/tasks/7', status: 200, headers: [rid, ctJson], body: json({ ...task, extra: 1 }) }, 'must NOT have additional properties'],
  ['a task with a bad state', { method: 'GET', target: '/tasks/7', status: 200, headers: [rid, ctJson],
    body: json({ ...task, state: { ...task.state, code: 'DONE!' } }) }, 'body/state/code'],
  ['an error name that does not fit the status', { method: 'GET', target: '/tasks/7', status: 404, headers: [rid, ctJson], body: err(109, 'task_in_progress') }, 'body/error/name'],
  ['an error code that does not fit its name', { method: 'GET', target: '/tasks/7', status: 404, headers: [rid, ctJson], body: err(999, 'task_not_found') }, 'body/error'],
  ['a 200 without a body', { method: 'GET', target: '/tasks/7', status: 200, headers: [rid], body: '' }, 'Content-Type (none) is not documented'],
  ['no X-Request-Id', { method: 'GET', target: '/healthz', status: 200, headers: [ctJson], body: json({ status: 'ok' }) }, 'header X-Request-Id is required'],
];

const input = cases.map(([, rec]) => JSON.stringify(rec)).join('\n') + '\n';
const run = spawnSync('node', [path.join(here, 'validate.mjs'), doc, '--serve'], { input, encoding: 'utf8' });
if (run.status !== 0) {
  process.stderr.write(`validate.mjs --serve exited ${run.status}: ${run.stderr}\n`);
  process.exit(1);
}
const verdicts = run.stdout.split('\n');
let failed = 0;
cases.forEach(([what, , want], i) => {
  const got = verdicts[i] ?? '(no verdict)';
  const ok = want === '' ? got === '' : got.includes(want);
  if (!ok) {
    failed++;
    process.stdout.write(`FAIL ${what}: expected ${want === '' ? 'a pass' : JSON.stringify(want)}, got ${JSON.stringify(got)}\n`);
  }
});
process.stdout.write(`${cases.length - failed}/${cases.length} cases as expected\n`);
process.exit(failed > 0 ? 1 : 0);
