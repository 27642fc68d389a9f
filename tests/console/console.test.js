// Browser test of the web console (docs/reference.md §15), run by tests/api/test_console_browser.c against a
// real server it started. Debian's chromium (/usr/bin/chromium) is driven by playwright-core;
// no browser is ever downloaded. Every wait is on a condition, never a fixed sleep.
//
// Environment (set by the C test):
//   TW_URL        http://127.0.0.1:PORT
//   TW_TOKEN      a write token for chains TW_CHAIN (seeded, with three tasks) and TW_OTHER_CHAIN
//   TW_SPIN       loop turns per record of the slow Lua rule (tests/console/lua/segments/slow.lua)
//   TW_TOKEN2     a second token for the same chain, revoked during the test (expired session)
//   TW_USER, TW_PASSWORD  an admin user with write access to TW_CHAIN
//   TW_BINARY, TW_CONFIG  the taskwheel binary and the server's config (to revoke TW_TOKEN2)
//   TW_ARTIFACTS  directory for screenshots and the downloaded file
// Prints one line per step; exits 0 when every check passed, 1 with the reason otherwise.
'use strict';

const { chromium } = require('playwright-core');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`missing environment variable ${k}`);
  return v;
};
const URL_ = env('TW_URL');
const TOKEN = env('TW_TOKEN');
const TOKEN2 = env('TW_TOKEN2');
const CHAIN = env('TW_CHAIN');
const USER = env('TW_USER');
const PASSWORD = env('TW_PASSWORD');
const ART = env('TW_ARTIFACTS');
const WAIT = 120000;
const SPIN = Number(process.env.TW_SPIN || 40000); // loop turns of slow.lua per record // the longest any condition may take on a loaded machine

fs.mkdirSync(ART, { recursive: true });

async function apiCall(method, p, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(URL_ + p, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, json, headers: res.headers };
}

function step(msg) {
  process.stdout.write(`console test: ${msg}\n`);
}

// Console errors, page errors and CSP violations of one page; network 4xx the test caused on
// purpose are listed in allowed (Chromium logs each failed fetch as a console error).
function watch(page, label) {
  const problems = [];
  const allowed = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' && !/Content Security Policy/i.test(m.text())) return;
    const text = m.text();
    const loc = m.location() || {};
    const netm = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    if (netm && allowed.some((a) => a.status === Number(netm[1]) && (loc.url || '').startsWith(URL_ + a.prefix))) return;
    problems.push(`${label}: console ${m.type()}: ${text} (${loc.url || '?'})`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('crash', () => problems.push(`${label}: page crashed`));
  return {
    problems,
    allow(status, prefix) {
      allowed.push({ status, prefix });
    },
    async csp() {
      const v = await page.evaluate(() => window.__twCsp || []);
      for (const x of v) problems.push(`${label}: CSP violation: ${x}`);
    },
  };
}

async function newPage(browser, viewport, label) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, deviceScaleFactor: 1, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
  // Collect CSP violations the page reports (the init script is injected by the browser, not
  // by the page, so it is not subject to the page's CSP).
  await context.addInitScript(() => {
    window.__twCsp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__twCsp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const w = watch(page, label);
  return { context, page, w };
}

async function shot(page, name) {
  const file = path.join(ART, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  step(`screenshot ${file}`);
}

// Every input, select and textarea on the page has a label (or an aria-label).
async function assertLabelled(page, where) {
  const bad = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
    .map((e) => e.id || e.className || e.outerHTML.slice(0, 80)));
  assert.deepEqual(bad, [], `${where}: form fields without a label`);
}

async function assertFits(page, width, where) {
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sw <= width, `${where}: the page is ${sw} px wide, wider than the ${width} px screen`);
}

async function signInToken(page, token) {
  await page.locator('#mode-token').check();
  await page.locator('#signin-token').fill(token);
  await page.locator('#signin-chain').fill(CHAIN);
  await page.locator('#signin-submit').click();
}

async function stateIs(page, code) {
  await page.locator(`#task-state [data-state="${code}"]`).waitFor({ timeout: WAIT });
}

// Create a task with two segment rules through the form; returns its id.
async function createTask(page, desc) {
  await page.locator('#nav a[data-nav="new"]').click();
  await page.locator('#task-form').waitFor();
  await page.locator('#task-desc').fill(desc);
  await page.locator('#task-index').fill('transactions');
  await page.locator('#task-format').fill('csv');
  await page.locator('#task-once').fill('2030-01-01T06:00:00');
  await page.locator('#seg-rules').check();
  await page.locator('.add-rule').click();
  const r1 = page.locator('fieldset.rule').nth(0);
  await r1.locator('.rule-operator').selectOption('is_greater_than');
  await r1.locator('.rule-field-name').fill('total_value');
  await r1.locator('.rule-field-type').selectOption('number');
  await r1.locator('.rule-value').fill('0');
  await page.locator('.add-rule').click();
  const r2 = page.locator('fieldset.rule').nth(1);
  await r2.locator('.rule-operator').selectOption('script');
  await r2.locator('.rule-script').fill('slow');
  await r2.locator('.rule-params').fill(`{"spin": ${SPIN}}`);
  await assertLabelled(page, 'task form');
  return r2;
}

async function desktopFlow(browser) {
  const { context, page, w } = await newPage(browser, { width: 1280, height: 800 }, 'desktop');

  // 1. A wrong token: the sign-in page shows the service's own message.
  await page.goto(`${URL_}/console/`);
  await page.locator('#signin-form').waitFor();
  await assertLabelled(page, 'sign-in');
  await shot(page, 'desktop-1-signin');
  const wrong = '0b9d1a7e-7c43-4f53-9c36-0d6f1f3d2a11:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  const expected = await apiCall('GET', `/tasks?chain=${CHAIN}&limit=1`, { token: wrong });
  assert.equal(expected.status, 401);
  w.allow(401, '/tasks');
  await signInToken(page, wrong);
  await page.locator('#signin-message.error').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#signin-message').textContent(), expected.json.error.description);
  await shot(page, 'desktop-2-wrong-token');
  step(`wrong token shows "${expected.json.error.description}"`);

  // 2. Sign in with the token, by keyboard only.
  await page.locator('#signin-token').fill('');
  await page.locator('#signin-token').focus();
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(CHAIN);
  await page.keyboard.press('Enter');
  await page.locator('#task-table').waitFor({ timeout: WAIT });
  await page.locator('#list-status', { hasText: 'refreshes every' }).waitFor({ timeout: WAIT });
  step('signed in with a token');

  // 3. Create a task with two rules through the form.
  const r2 = await createTask(page, 'Transactions over 0 through a slow Lua rule');
  await shot(page, 'desktop-3-task-form');
  await page.locator('#task-submit').click();
  await page.locator('#task-execute').waitFor({ timeout: WAIT });
  const id = /#\/tasks\/(\d+)$/.exec(page.url())[1];
  await stateIs(page, 'READY');
  const created = await apiCall('GET', `/tasks/${id}`, { token: TOKEN });
  assert.equal(created.status, 200);
  const seg = created.json.trigger.segment;
  assert.equal(seg.rules.length, 2, 'two rules stored');
  assert.deepEqual([seg.rules[0].field_name, seg.rules[0].operator, seg.rules[0].value], ['total_value', 'is_greater_than', 0]);
  assert.deepEqual([seg.rules[1].operator, seg.rules[1].script, seg.rules[1].params], ['script', 'slow', { spin: SPIN }]);
  assert.equal(created.json.target.export_index, 'transactions');
  step(`task ${id} created READY with two rules`);
  void r2;

  // 4. Execute: READY -> INPROGRESS (with progress shown) -> DONE.
  await page.locator('#task-execute').click();
  await stateIs(page, 'INPROGRESS');
  await page.locator('#task-progress').waitFor({ timeout: WAIT });
  await page.locator('#progress-count', { hasText: /^[1-9][\d,]* records so far$/ }).waitFor({ timeout: WAIT });
  const shown = await page.locator('#progress-count').textContent();
  await shot(page, 'desktop-4-task-running');
  step(`progress shown while INPROGRESS: "${shown}"`);
  await stateIs(page, 'DONE');
  await page.locator('#task-progress').waitFor({ state: 'hidden' });
  await page.locator('#task-download').waitFor({ timeout: WAIT });
  const done = await apiCall('GET', `/tasks/${id}?log_limit=100`, { token: TOKEN });
  const msgs = done.json.logs.map((l) => l.msg);
  assert.ok(msgs.includes('READY -> INPROGRESS') && msgs.includes('INPROGRESS -> DONE'), `logs: ${msgs.join(' | ')}`);
  await page.locator('#task-logs td.msg', { hasText: 'INPROGRESS -> DONE' }).waitFor();
  step('task went READY -> INPROGRESS -> DONE');

  // 5. Download: the file's SHA-256 is the one the API gives.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.locator('#task-download').click()]);
  const file = path.join(ART, download.suggestedFilename() || 'result.csv');
  await download.saveAs(file);
  const bytes = fs.readFileSync(file);
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  const link = await apiCall('GET', `/tasks/${id}/download_url`, { token: TOKEN });
  assert.equal(link.status, 200);
  assert.equal(sha, link.json.sha256, 'downloaded file SHA-256 = the API\'s');
  assert.equal(bytes.length, link.json.size);
  assert.equal(await page.locator('#download-sha256').textContent(), link.json.sha256);
  assert.ok(bytes.toString('utf8').startsWith('id,retailer_basket_code,'), 'a CSV with its header');
  await shot(page, 'desktop-5-task-done');
  step(`downloaded ${path.basename(file)} (${bytes.length} bytes), SHA-256 ${sha} matches`);

  // 5b. Edit: a new description; the trigger is unchanged, so the task is not rescheduled.
  const before = (await apiCall('GET', `/tasks/${id}`, { token: TOKEN })).json;
  await page.locator('#task-edit').click();
  await page.locator('#task-form').waitFor();
  await page.waitForFunction(() => document.getElementById('task-desc').value !== '');
  assert.equal(await page.locator('fieldset.rule').count(), 2, 'the edit form shows both rules');
  await page.locator('#task-desc').fill('Transactions over 0 (edited in the console)');
  await page.locator('#task-submit').click();
  await page.locator('#task-title', { hasText: 'edited in the console' }).waitFor({ timeout: WAIT });
  const after = (await apiCall('GET', `/tasks/${id}`, { token: TOKEN })).json;
  assert.equal(after.version, before.version + 1);
  assert.equal(after.state.code, 'DONE', 'an edit without a new trigger keeps the state');
  assert.deepEqual(after.trigger, before.trigger);
  step(`task ${id} edited (version ${after.version})`);

  // 6. The task list shows it, filtered by state.
  await page.locator('#nav a[data-nav="tasks"]').click();
  await page.locator('.filters a[data-filter="DONE"]').click();
  await page.locator(`#task-table tr[data-task="${id}"] [data-state="DONE"]`).waitFor({ timeout: WAIT });
  await page.locator('.filters a[data-filter="READY"]').click();
  await page.locator(`#task-table tr[data-task="${id}"]`).waitFor({ state: 'detached', timeout: WAIT });
  await page.locator('.filters a[data-filter="ALL"]').click();
  await page.locator(`#task-table tr[data-task="${id}"]`).waitFor({ timeout: WAIT });
  await shot(page, 'desktop-6-task-list');
  step('task list filters by state');

  // 7. A validation error appears at the field the service names.
  await validationError(page, w, 'desktop');

  // 8. Saved segments: create one, use it in a task, delete it once unused.
  await savedSegments(page, w);

  // 9. The seeded chain: switch to it, see its tasks, download a real export.
  await seededChain(page);

  await page.locator('#signout').click();
  await page.locator('#signin-form').waitFor();
  assert.equal(await page.locator('#signin-message').textContent(), 'You signed out.');
  step('signed out');
  await w.csp();
  await context.close();
  return w.problems;
}

async function validationError(page, w, label) {
  await createTask(page, `Console test (${label}): a bad rule`);
  const r2 = page.locator('fieldset.rule').nth(1);
  await r2.locator('.rule-operator').selectOption('is_between_number');
  await r2.locator('.rule-field-name').fill('total_value');
  await r2.locator('.rule-field-type').selectOption('number');
  await r2.locator('.rule-min').fill('5');
  await r2.locator('.rule-max').fill('many');
  w.allow(400, '/tasks');
  const [req] = await Promise.all([page.waitForRequest((r) => r.url() === `${URL_}/tasks` && r.method() === 'POST'), page.locator('#task-submit').click()]);
  // The same body sent by us gets the service's answer: its field and description.
  const replay = await apiCall('POST', '/tasks', { token: TOKEN, body: req.postData() });
  assert.equal(replay.status, 400);
  const { field, description } = replay.json.error;
  assert.equal(field, 'trigger.segment.rules[1].max', `the service names the rule's max (got ${field})`);
  const control = page.locator(`[data-field="${field}"]`);
  await page.locator(`[data-field="${field}"][aria-invalid="true"]`).waitFor({ timeout: WAIT });
  const errId = await control.getAttribute('data-err');
  assert.equal(await page.locator(`#${errId}`).textContent(), description);
  assert.ok(await page.locator(`#${errId}`).isVisible(), 'the message is visible');
  assert.ok(await control.evaluate((e) => e === document.activeElement), 'focus moved to the field');
  assert.ok(await r2.locator('.rule-max').evaluate((e, f) => e.dataset.field === f, field), 'the error is on rule 2\'s max');
  await shot(page, `${label}-7-validation-error`);
  step(`${label}: validation error "${description}" shown at ${field}`);
}

async function savedSegments(page, w) {
  await page.locator('#nav a[data-nav="segments"]').click();
  await page.locator('#segment-form').waitFor();
  await assertLabelled(page, 'segments');
  await page.locator('#segment-name').fill('Named records');
  await page.locator('#segment-index').fill('transactions');
  await page.locator('#segment-form .add-rule').click();
  const r = page.locator('#segment-form fieldset.rule').nth(0);
  await r.locator('.rule-operator').selectOption('is');
  await r.locator('.rule-field-name').fill('currency');
  await r.locator('.rule-field-type').selectOption('keyword');
  await r.locator('.rule-value').fill('EUR, GBP');
  await page.locator('#segment-submit').click();
  const row = page.locator('#segment-table tr[data-segment]', { hasText: 'Named records' });
  await row.waitFor({ timeout: WAIT });
  const segId = await row.getAttribute('data-segment');
  await shot(page, 'desktop-8-segments');

  // Use it in a task.
  await page.locator('#nav a[data-nav="new"]').click();
  await page.locator('#task-desc').fill('Console test: uses a saved segment');
  await page.locator('#task-index').fill('transactions');
  await page.locator('#seg-saved').check();
  await page.locator(`#task-segment-id option[value="${segId}"]`).waitFor({ state: 'attached', timeout: WAIT });
  await page.locator('#task-segment-id').selectOption(segId);
  await page.locator('#task-submit').click();
  await page.locator('#trigger-segment', { hasText: `saved segment ${segId}` }).waitFor({ timeout: WAIT });
  const taskId = /#\/tasks\/(\d+)$/.exec(page.url())[1];

  // Deleting it while the task uses it: the service's segment_in_use message.
  await page.locator('#nav a[data-nav="segments"]').click();
  const del = page.locator(`#segment-table tr[data-segment="${segId}"] button`);
  w.allow(409, '/segments');
  await del.click();
  await del.click();
  await page.locator('#segments-error', { hasText: 'segment_in_use' }).waitFor({ timeout: WAIT });

  // Delete the task from its page, then the segment.
  await page.goto(`${URL_}/console/#/tasks/${taskId}`);
  await page.locator('#task-delete').click();
  await page.locator('#task-delete-confirm').click();
  await page.locator('#task-table').waitFor({ timeout: WAIT });
  assert.equal((await apiCall('GET', `/tasks/${taskId}`, { token: TOKEN })).status, 404, 'task deleted');
  await page.locator('#nav a[data-nav="segments"]').click();
  const del2 = page.locator(`#segment-table tr[data-segment="${segId}"] button`);
  await del2.click();
  await del2.click();
  await page.locator(`#segment-table tr[data-segment="${segId}"]`).waitFor({ state: 'detached', timeout: WAIT });
  step(`saved segment ${segId} created, used by task ${taskId}, refused while in use, deleted`);
}

async function seededChain(page) {
  const other = env('TW_OTHER_CHAIN');
  await page.locator('#nav a[data-nav="tasks"]').click();
  await page.locator('#chain-switch').fill(other);
  await page.locator('#chain-switch').press('Enter');
  await page.locator('h1', { hasText: `Tasks of chain ${other}` }).waitFor({ timeout: WAIT });
  await page.locator('#task-table td', { hasText: 'No tasks yet' }).waitFor({ timeout: WAIT });
  await page.locator('#chain-switch').fill(CHAIN);
  await page.locator('#chain-switch').press('Enter');
  await page.locator('h1', { hasText: `Tasks of chain ${CHAIN}` }).waitFor({ timeout: WAIT });
  // The seeded tasks were due at once: the list shows their runs end by itself.
  const seeded = page.locator('#task-table tr', { hasText: 'Opted-in members' });
  await seeded.locator('[data-state="DONE"]').waitFor({ timeout: WAIT });
  await page.locator('#task-table tr', { hasText: 'Vouchers' }).locator('[data-state="ERROR"]').waitFor({ timeout: WAIT });
  await page.locator('#task-table tr', { hasText: 'Nightly transactions' }).locator('[data-state="READY"]').waitFor({ timeout: WAIT });
  await shot(page, 'desktop-9-task-list');
  const id = await seeded.getAttribute('data-task');
  await seeded.locator('td a').first().click();
  await stateIs(page, 'DONE');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.locator('#task-download').click()]);
  const file = path.join(ART, `seeded-${download.suggestedFilename()}`);
  await download.saveAs(file);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const link = await apiCall('GET', `/tasks/${id}/download_url`, { token: TOKEN });
  assert.equal(sha, link.json.sha256);
  await shot(page, 'desktop-10-seeded-task');
  step(`chain switch works; seeded task ${id} downloaded, SHA-256 matches`);
}

async function phoneFlow(browser) {
  const W = 390;
  const { context, page, w } = await newPage(browser, { width: W, height: 844 }, 'phone');
  await page.goto(`${URL_}/console/`);
  await page.locator('#signin-form').waitFor();
  await assertFits(page, W, 'phone sign-in');
  await shot(page, 'phone-1-signin');

  // An admin user this time: POST /auth/login, then the session headers.
  await page.locator('#mode-user').check();
  await page.locator('#signin-username').fill(USER);
  await page.locator('#signin-password').fill(PASSWORD);
  await page.locator('#signin-chain').fill(CHAIN);
  await page.locator('#signin-submit').click();
  await page.locator('#task-table').waitFor({ timeout: WAIT });
  await assertFits(page, W, 'phone task list');
  await shot(page, 'phone-2-task-list');
  step('phone: signed in as an admin user');

  await createTask(page, 'Phone: transactions through a slow Lua rule');
  await assertFits(page, W, 'phone task form');
  await shot(page, 'phone-3-task-form');
  await page.locator('#task-submit').click();
  await page.locator('#task-execute').waitFor({ timeout: WAIT });
  const id = /#\/tasks\/(\d+)$/.exec(page.url())[1];
  await stateIs(page, 'READY');
  await page.locator('#task-execute').click();
  await stateIs(page, 'INPROGRESS');
  await page.locator('#progress-count', { hasText: /^[1-9][\d,]* records so far$/ }).waitFor({ timeout: WAIT });
  await assertFits(page, W, 'phone task page');
  await shot(page, 'phone-4-task-running');
  await stateIs(page, 'DONE');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.locator('#task-download').click()]);
  const file = path.join(ART, `phone-${download.suggestedFilename() || 'result.csv'}`);
  await download.saveAs(file);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const link = await apiCall('GET', `/tasks/${id}/download_url`, { token: TOKEN });
  assert.equal(sha, link.json.sha256);
  await shot(page, 'phone-5-task-done');
  step(`phone: task ${id} READY -> INPROGRESS -> DONE, download SHA-256 matches`);

  await validationError(page, w, 'phone');
  await assertFits(page, W, 'phone validation error');

  await page.locator('#signout').click();
  await page.locator('#signin-form').waitFor();
  step('phone: signed out');
  await w.csp();
  await context.close();
  return w.problems;
}

// A session that stops working (here: its token revoked) brings back the sign-in page with
// the service's message on the next poll, never a blank page.
async function expiredFlow(browser) {
  const { context, page, w } = await newPage(browser, { width: 1280, height: 800 }, 'expired');
  await page.goto(`${URL_}/console/`);
  await page.locator('#signin-form').waitFor();
  await signInToken(page, TOKEN2);
  await page.locator('#task-table').waitFor({ timeout: WAIT });
  w.allow(401, '/tasks');
  execFileSync(env('TW_BINARY'), ['token', 'revoke', TOKEN2.split(':')[0], '-c', env('TW_CONFIG')], { stdio: ['ignore', 'ignore', 'inherit'] });
  // The service's answer for the revoked token, once it is in effect (tokens are cached 1 s).
  let expected;
  const until = Date.now() + WAIT;
  for (;;) {
    expected = await apiCall('GET', `/tasks?chain=${CHAIN}&limit=1`, { token: TOKEN2 });
    if (expected.status === 401 || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(expected.status, 401);
  await page.locator('#signin-message.error').waitFor({ timeout: WAIT });
  assert.equal(await page.locator('#signin-message').textContent(), expected.json.error.description);
  await shot(page, 'expired-signin');
  step(`revoked token: back at sign-in with "${expected.json.error.description}"`);
  await w.csp();
  await context.close();
  return w.problems;
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.TW_CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  let problems = [];
  try {
    problems = problems.concat(await desktopFlow(browser));
    problems = problems.concat(await phoneFlow(browser));
    problems = problems.concat(await expiredFlow(browser));
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, [], 'no console errors, page errors or CSP violations');
  step('all checks passed');
})().catch((e) => {
  process.stdout.write(`console test FAILED: ${e.stack || e}\n`);
  process.exit(1);
});
