// The dashboard's calls in headless Chromium (Debian's /usr/bin/chromium,
// playwright-core), against the stack and the PBX simulator started by
// run_calls_test.py: a call is rung, answered and hung up through the
// simulator's control API (POST /sim/calls, /sim/calls/answer,
// /sim/calls/hangup) and the Calls board shows it ringing, then talking
// with its duration ticking, then gone and listed among the recent calls;
// the extensions table shows the phone's state meanwhile; the call is
// found in the call log (with the CSV link and the statistics chart); the
// click-to-call dialog places a call from the board's extension; the pages
// in French and on a phone-sized screen. Screenshots go to PB_ARTIFACTS.
// Environment: PB_WEB_URL, PB_SIM_URL, PB_ADMIN_PASSWORD, PB_ARTIFACTS.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const url = process.env.PB_WEB_URL;
const sim = process.env.PB_SIM_URL;
const password = process.env.PB_ADMIN_PASSWORD;
const artifacts = process.env.PB_ARTIFACTS || os.tmpdir();
assert.ok(url && sim && password, 'PB_WEB_URL, PB_SIM_URL and PB_ADMIN_PASSWORD are required');
fs.mkdirSync(artifacts, { recursive: true });

const CALLER = '+33612345678';
const simPost = async (p, body) => {
  const r = await fetch(sim + p, { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                   body: JSON.stringify(body) });
  const j = await r.json();
  assert.ok(r.ok, `${p}: ${r.status} ${JSON.stringify(j)}`);
  return j;
};

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  locale: 'en-GB',
  timezoneId: 'Europe/Paris',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
// The session check before login is a 401, and the step that sends a bad
// number on purpose gets a 400; any other console error is a problem.
let expectedErrors = /status of 401/;
page.on('console', (m) => {
  if (m.type() === 'error' && !expectedErrors.test(m.text())) problems.push('console: ' + m.text());
});
page.on('request', (r) => {
  if (!r.url().startsWith(url) && !r.url().startsWith('data:'))
    problems.push('external request: ' + r.url());
});
const shot = (name) => page.screenshot({ path: path.join(artifacts, name), fullPage: true });
let passed = 0;
const step = async (name, fn) => {
  process.stdout.write(`- ${name} ... `);
  await fn();
  passed++;
  console.log('ok');
};
const live = { timeout: 20000 };
let callId;

try {
  await step('log in and open the Calls board', async () => {
    await page.goto(url + '/');
    await page.waitForSelector('#login-form');
    await page.fill('#login-form input[name=username]', 'admin');
    await page.fill('#login-form input[name=password]', password);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#ext-table tbody tr[data-number="2000"]');
    await page.waitForSelector('#live.on');
    await page.click('nav button[data-view=calls]');
    await page.waitForSelector('#calls-view:not([hidden])');
    assert.equal(await page.isVisible('#calls-none'), true);
  });

  await step('a call rings on the board', async () => {
    const call = await simPost('/sim/calls', { from: CALLER, to: '2000', recording: true });
    callId = call.call_id;
    const row = `#calls-table tbody tr[data-call-id="${callId}"]`;
    await page.waitForSelector(row + '.ringing', live);
    assert.equal(await page.textContent(row + ' .from'), CALLER);
    assert.equal(await page.textContent(row + ' .to'), '2000');
    // The phone that rings, on the board and in the extensions table.
    await page.waitForSelector('#phones-table tbody tr[data-number="2000"].ringing', live);
    assert.equal(await page.isVisible('#calls-none'), false);
    await shot('calls-01-ringing.png');
  });

  await step('it is answered: talking, its duration ticking', async () => {
    await simPost('/sim/calls/answer', { call_id: callId });
    const row = `#calls-table tbody tr[data-call-id="${callId}"]`;
    await page.waitForSelector(row + '.talking', live);
    const first = await page.textContent(row + ' .duration');
    assert.match(first, /^\d+:\d\d$/);
    await page.waitForFunction(([sel, was]) => {
      const d = document.querySelector(sel);
      return d && d.textContent !== was;
    }, [row + ' .duration', first], live);
    await page.waitForSelector('#phones-table tbody tr[data-number="2000"].talking', live);
    await shot('calls-02-talking.png');
  });

  await step('the extensions table shows the phone on a call', async () => {
    await page.click('nav button[data-view=extensions]');
    await page.waitForSelector('[id="ext-main-2000"] td.call .callstate.talking', live);
    assert.match(await page.textContent('[id="ext-main-2000"] td.call'), new RegExp(CALLER.replace('+', '\\+')));
    await page.click('nav button[data-view=calls]');
  });

  await step('it ends: off the board, among the recent calls', async () => {
    await simPost('/sim/calls/hangup', { call_id: callId });
    await page.waitForSelector(`#calls-table tbody tr[data-call-id="${callId}"]`,
                               { state: 'detached', timeout: live.timeout });
    const recent = `#recent-table tbody tr[data-call-id="${callId}"]`;
    await page.waitForSelector(recent, live);
    assert.match(await page.textContent(recent), /answered/);
    await page.waitForSelector('#phones-table tbody tr[data-number="2000"]', { state: 'detached', timeout: live.timeout });
    await shot('calls-03-ended.png');
  });

  await step('the call is in the call log, with its recording and the statistics', async () => {
    await page.click('nav button[data-view=calllog]');
    await page.waitForSelector('#calllog-view:not([hidden])');
    const row = `#calllog-table tbody tr[data-call-id="${callId}"]`;
    // call-log stores it as its CDR event arrives: read again until it shows.
    for (let i = 0; i < 40 && !(await page.$(row)); i++) {
      await page.click('#calllog-form button[type=submit]');
      await page.waitForTimeout(500);
    }
    await page.waitForSelector(row, { timeout: 1000 });
    assert.match(await page.textContent(row + ' .from'), new RegExp(CALLER.replace('+', '\\+')));
    const csv = await page.getAttribute('#calllog-csv', 'href');
    assert.match(csv, /^\/api\/calls\?.*format=csv/);
    await page.waitForSelector('#stats-chart svg rect.bar-answered');
    await page.waitForSelector('#stats-table tbody tr[data-ext="2000"]');
    // The player gets the recording through web-api.
    await page.click(row + ' .play-btn');
    await page.waitForSelector('#player-box:not([hidden])');
    const src = await page.getAttribute('#player', 'src');
    assert.equal(src, `/api/calls/main/${encodeURIComponent(callId)}/recording`);
    await page.waitForFunction(() => document.querySelector('#player').readyState >= 1, null, live);
    await shot('calls-04-log.png');
  });

  await step('click-to-call from the call log reaches the PBX', async () => {
    await page.click('#calllog-dial');
    await page.waitForSelector('#dial-dialog[open]');
    await page.selectOption('#dial-form select[name=ext]', 'main/2001');
    await page.fill('#dial-form input[name=number]', 'not a number');
    expectedErrors = /status of 40[01]/;
    await page.click('#dial-submit');
    // Refused by web-api: the dialog stays with the message.
    await page.waitForFunction(() => document.querySelector('#dial-error').textContent.length > 0);
    expectedErrors = /status of 401/;
    assert.match(await page.textContent('#dial-error'), /not a phone number/);
    await page.fill('#dial-form input[name=number]', '+33 1 23 45 67 89');
    await page.click('#dial-submit');
    await page.waitForSelector('#dial-dialog', { state: 'hidden', timeout: live.timeout });
    assert.match(await page.textContent('#flash'), /2001/);
    const r = await fetch(sim + '/sim/requests');
    const dials = (await r.json()).filter((x) => x.path.endsWith('/call/dial'));
    assert.ok(dials.some((x) => JSON.parse(x.body).caller === '2001'), JSON.stringify(dials));
  });

  await step('an admin gives a readonly user its extension', async () => {
    await page.click('nav button[data-view=account]');
    await page.fill('#user-form input[name=name]', 'carol');
    await page.fill('#user-form input[name=password]', 'carol-Pw-2026!x');
    await page.selectOption('#user-form select[name=role]', 'readonly');
    await page.click('#user-form button[type=submit]');
    const form = '#users li[data-user="carol"] form.user-exts';
    await page.waitForSelector(form);
    await page.fill(form + ' input[name=extensions]', '2001');
    await page.click(form + ' button[type=submit]');
    await page.waitForFunction(() => /carol/.test(document.querySelector('#flash').textContent));
    const users = await page.evaluate(async () => (await (await fetch('/api/users')).json()).users);
    const carol = users.find((u) => u.name === 'carol');
    assert.deepEqual(carol.extensions, [{ site: 'main', ext: '2001' }]);
  });

  await step('French, dark, and a phone-sized screen', async () => {
    await page.selectOption('#lang', 'fr');
    await page.click('#theme');
    await page.click('nav button[data-view=calls]');
    assert.equal(await page.textContent('nav button[data-view=calls]'), 'Appels');
    assert.equal(await page.textContent('#calls-view h2'), 'Appels');
    assert.match(await page.textContent(`#recent-table tbody tr[data-call-id="${callId}"]`), /répondu/);
    await page.setViewportSize({ width: 390, height: 800 });
    // Nothing wider than the screen but the tables' own scroll boxes.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await shot('calls-05-phone-fr-dark.png');
  });

  assert.deepEqual(problems, []);
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  await shot('calls-failure.png').catch(() => {});
  console.log('FAILED');
  console.error(e);
  if (problems.length) console.error(problems.join('\n'));
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
