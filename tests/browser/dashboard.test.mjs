// The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no browser is downloaded), against the running stack
// started by run_dashboard_test.py: log in, see the demo extensions, set an
// override with a reason, watch the row change live without a reload, find
// it in the logs page, see the page in French (headings, planning column),
// add and remove a hand-typed slot in the week view, change an extension's
// settings and find them after a reload. Screenshots go to PB_ARTIFACTS.
// Environment: PB_WEB_URL, PB_ADMIN_PASSWORD, PB_ARTIFACTS.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const url = process.env.PB_WEB_URL;
const password = process.env.PB_ADMIN_PASSWORD;
const artifacts = process.env.PB_ARTIFACTS || os.tmpdir();
assert.ok(url && password, 'PB_WEB_URL and PB_ADMIN_PASSWORD are required');
fs.mkdirSync(artifacts, { recursive: true });

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  locale: 'en-GB',
  // The stack's TIMEZONE (harness.py): the slot form takes times in the
  // browser's zone and the week shows them in the service's.
  timezoneId: 'Europe/Paris',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
// The 401s of the session check before login and of the wrong password
// are expected, and so are the 400s of the steps that send a bad value on
// purpose (refusals); any other console error is a problem.
let expectedErrors = /status of 401/;
page.on('console', (m) => {
  if (m.type() === 'error' && !expectedErrors.test(m.text())) problems.push('console: ' + m.text());
});
const refusals = async (fn) => {
  expectedErrors = /status of 40[01]/;
  try { await fn(); } finally { expectedErrors = /status of 401/; }
};
// Nothing but web-api itself may be asked for anything.
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

try {
  await step('the login page shows and refuses a wrong password', async () => {
    await page.goto(url + '/');
    await page.waitForSelector('#login-form');
    await page.fill('#login-form input[name=username]', 'admin');
    await page.fill('#login-form input[name=password]', 'not-the-password');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#login-error').textContent.length > 0);
    assert.match(await page.textContent('#login-error'), /wrong user name or password/);
    await shot('01-login.png');
  });

  await step('log in and see the demo extensions', async () => {
    await page.fill('#login-form input[name=password]', password);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#ext-table tbody tr[data-number="2000"]');
    await page.waitForSelector('#live.on');
    const numbers = await page.$$eval('#ext-table tbody tr', (rows) => rows.map((r) => r.dataset.number));
    for (const n of ['2000', '2001', '2002']) assert.ok(numbers.includes(n), `row ${n} in ${numbers}`);
    await page.waitForFunction(() =>
      document.querySelector('[id="ext-main-2000"] .pbx').textContent.includes('Available'));
    await shot('02-extensions.png');
  });

  await step('set an override with a reason; the row changes live', async () => {
    // A marker that a reload would lose.
    await page.evaluate(() => { window.__noReload = 42; });
    await page.click('[id="ext-main-2000"] .override-btn');
    await page.waitForSelector('#override-dialog[open]');
    await page.selectOption('#ovr-status', 'do_not_disturb');
    await page.selectOption('#override-form select[name=minutes]', '120');
    await page.fill('#override-form input[name=reason]', 'sick (browser test)');
    await shot('03-override-dialog.png');
    await page.click('#ovr-submit');
    await page.waitForSelector('#override-dialog[open]', { state: 'detached' });
    await page.waitForFunction(() => {
      const row = document.querySelector('[id="ext-main-2000"]');
      return row && row.querySelector('.desired').textContent.includes('Do Not Disturb') &&
        row.querySelector('.override').textContent.includes('sick (browser test)') &&
        row.querySelector('.cause').textContent.includes('override');
    }, null, { timeout: 15000 });
    // The gateway applies it and the PBX column follows, still live.
    await page.waitForFunction(() =>
      document.querySelector('[id="ext-main-2000"] .pbx').textContent.includes('Do Not Disturb'),
      null, { timeout: 20000 });
    assert.equal(await page.evaluate(() => window.__noReload), 42, 'the page was reloaded');
    await shot('04-override-live.png');
  });

  await step('the override is in the logs page', async () => {
    await page.click('nav button[data-view=logs]');
    await page.waitForFunction(() => [...document.querySelectorAll('#logs-table tbody tr')]
      .some((tr) => tr.textContent.includes('override set') && tr.textContent.includes('sick (browser test)')),
      null, { timeout: 15000 });
    const row = await page.$$eval('#logs-table tbody tr', (rows) =>
      rows.map((r) => r.textContent).find((t) => t.includes('override set')));
    assert.match(row, /admin/);
    await shot('05-logs.png');
  });

  await step('French and the dark theme', async () => {
    await page.selectOption('#lang', 'fr');
    await page.click('#theme');
    await page.click('nav button[data-view=extensions]');
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    assert.equal(await page.textContent('nav button[data-view=logs]'), 'Journal');
    assert.match(await page.textContent('[id="ext-main-2000"] .desired'), /Ne pas déranger/);
    const heads = await page.$$eval('#ext-table thead th', (ths) => ths.map((th) => th.textContent.trim()));
    assert.deepEqual(heads, ['Poste', 'Nom', 'Voulu', 'IPBX', 'Appel', 'Pourquoi', 'Prochain changement',
                             'Forçage', 'Planning', '']);
    const planning = () => page.$$eval('#ext-table tbody td.planning', (tds) => tds.map((td) => td.textContent.trim()));
    assert.deepEqual(await planning(), ['activé', 'activé', 'activé']);
    assert.match(await page.textContent('[id="ext-main-2000"] .cause'), /forçage/);
    await shot('06-dark-fr.png');
    // Planning off and on again: the column and the message stay French.
    await page.click('[id="ext-main-2002"] .planning-switch');
    await page.waitForFunction(() => document.querySelector('#flash').textContent === 'Planning désactivé.');
    await page.waitForFunction(() =>
      document.querySelector('[id="ext-main-2002"] td.planning').textContent.trim() === 'désactivé',
      null, { timeout: 15000 });
    await page.click('[id="ext-main-2002"] .planning-switch');
    await page.waitForFunction(() => document.querySelector('#flash').textContent === 'Planning activé.');
    await page.waitForFunction(() =>
      document.querySelector('[id="ext-main-2002"] td.planning').textContent.trim() === 'activé',
      null, { timeout: 15000 });
    assert.ok((await planning()).every((p) => p === 'activé' || p === 'désactivé'));
    // The logs page: kinds in French (the API's values stay in the filter).
    await page.click('nav button[data-view=logs]');
    await page.waitForFunction(() => [...document.querySelectorAll('#logs-table td.kind')]
      .some((td) => td.textContent === 'forçage'), null, { timeout: 15000 });
    assert.equal(await page.$eval('#logs-form select[name=kind] option[value=apply]', (o) => o.textContent), 'appliqué');
    await page.click('nav button[data-view=extensions]');
  });

  await step('clearing the override puts the row back, live', async () => {
    await page.click('[id="ext-main-2000"] .clear-btn');
    await page.waitForFunction(() =>
      document.querySelector('[id="ext-main-2000"] .override').textContent.trim() === '—',
      null, { timeout: 15000 });
    assert.equal(await page.evaluate(() => window.__noReload), 42);
  });

  // The browser's and the stack's day (both Europe/Paris).
  const today = await page.evaluate(() => {
    const d = new Date();
    return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' +
      String(d.getDate()).padStart(2, '0');
  });
  const summary = 'dentist (browser test)';
  const ourSlot = (text) => [...document.querySelectorAll('#week-grid .slot.manual')]
    .find((s) => s.textContent.includes(text));

  await step('the week view: a refused slot shows the server\'s message', async () => {
    await page.selectOption('#lang', 'en');
    await page.click('nav button[data-view=week]');
    await page.selectOption('#week-ext', 'main/2001');
    await page.waitForSelector(`#slot-day option[value="${today}"]`, { state: 'attached' });
    await page.waitForSelector(`#week-grid .day[data-day="${today}"]`);
    await refusals(async () => {
      await page.selectOption('#slot-day', today);
      await page.fill('#slot-form input[name=start]', '10:00');
      await page.fill('#slot-form input[name=end]', '09:00');
      await page.selectOption('#slot-status', 'lunch');
      await page.fill('#slot-form input[name=summary]', summary);
      await page.click('#slot-submit');
      await page.waitForFunction(() => document.querySelector('#slot-error').textContent.length > 0,
                                 null, { timeout: 15000 });
    });
    assert.match(await page.textContent('#slot-error'), /'end' must be after 'start'/);
    assert.equal(await page.$$eval('#week-grid .slot.manual', (s) => s.length), 0);
  });

  await step('add a hand-typed slot: it shows in the week grid', async () => {
    await page.selectOption('#slot-day', today);
    await page.fill('#slot-form input[name=start]', '06:00');
    await page.fill('#slot-form input[name=end]', '07:30');
    await page.click('#slot-submit');
    // The schedule comes back from ical-ingest through the bus.
    await page.waitForFunction(ourSlot, summary, { timeout: 20000 });
    assert.equal(await page.textContent('#slot-error'), '');
    const text = await page.evaluate((s) => {
      const slot = [...document.querySelectorAll('#week-grid .slot.manual')].find((x) => x.textContent.includes(s));
      return slot.closest('.day').dataset.day + ' ' + slot.textContent;
    }, summary);
    assert.ok(text.startsWith(today + ' '), text);
    assert.match(text, /06:00–07:30/);
    assert.match(text, /Lunch Break/);
    assert.match(text, /typed by hand/);
    // It is in the source manual-main-2001, which the sources page lists.
    const src = await page.evaluate(async () => (await (await fetch('/api/sources')).json())
      .sources.find((s) => s.id === 'manual-main-2001'));
    assert.ok(src && src.kind === 'manual' && src.slots.length === 1, JSON.stringify(src));
    assert.deepEqual(src.extensions, ['2001']);
    assert.equal(src.slots[0].summary, summary);
    await shot('07-week-slot.png');
  });

  await step('remove the slot: it leaves the week grid', async () => {
    await page.evaluate((s) => {
      const slot = [...document.querySelectorAll('#week-grid .slot.manual')].find((x) => x.textContent.includes(s));
      slot.querySelector('.slot-remove').click();
    }, summary);
    await page.waitForFunction((s) => ![...document.querySelectorAll('#week-grid .slot.manual')]
      .some((x) => x.textContent.includes(s)), summary, { timeout: 20000 });
    const src = await page.evaluate(async () => (await (await fetch('/api/sources')).json())
      .sources.find((s) => s.id === 'manual-main-2001'));
    assert.deepEqual(src.slots, []);
  });

  await step('change an extension\'s settings; they show after a reload', async () => {
    await page.waitForFunction(() => document.querySelector('#settings-info .set-default') &&
      /service default/.test(document.querySelector('#settings-info .set-default').textContent));
    await refusals(async () => {
      await page.fill('#settings-form input[name=timezone]', 'Nowhere/City');
      await page.click('#set-submit');
      await page.waitForFunction(() => document.querySelector('#settings-error').textContent.length > 0,
                                 null, { timeout: 15000 });
    });
    assert.match(await page.textContent('#settings-error'), /timezone/);
    await page.selectOption('#set-status', 'away');
    await page.fill('#settings-form input[name=timezone]', 'America/New_York');
    await page.click('#set-submit');
    await page.waitForFunction(() => document.querySelector('#flash').textContent === 'Settings saved.',
                               null, { timeout: 15000 });
    assert.equal(await page.textContent('#settings-error'), '');
    await page.reload();
    await page.waitForSelector('#week-view:not([hidden])');
    await page.waitForSelector('#week-ext option[value="main/2001"]', { state: 'attached' });
    await page.selectOption('#week-ext', 'main/2001');
    await page.waitForFunction(() => {
      const d = document.querySelector('#settings-info .set-default');
      const z = document.querySelector('#settings-info .set-timezone');
      return d && z && d.textContent === 'Away' && z.textContent === 'America/New_York';
    }, null, { timeout: 15000 });
    assert.equal(await page.$eval('#set-status', (s) => s.value), 'away');
    assert.equal(await page.$eval('#settings-form input[name=timezone]', (i) => i.value), 'America/New_York');
    await shot('08-week-settings.png');
  });

  assert.deepEqual(problems, []);
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  await shot('failure.png').catch(() => {});
  console.log('FAILED');
  console.error(e);
  if (problems.length) console.error(problems.join('\n'));
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
