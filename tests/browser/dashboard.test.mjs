// The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no browser is downloaded), against the running stack
// started by run_dashboard_test.py: log in, see the demo extensions, set an
// override with a reason, watch the row change live without a reload, find
// it in the logs page. Screenshots go to PB_ARTIFACTS.
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
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
// The 401s of the session check before login and of the wrong password
// are expected; any other console error is a problem.
page.on('console', (m) => {
  if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push('console: ' + m.text());
});
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
    await shot('06-dark-fr.png');
  });

  await step('clearing the override puts the row back, live', async () => {
    await page.click('[id="ext-main-2000"] .clear-btn');
    await page.waitForFunction(() =>
      document.querySelector('[id="ext-main-2000"] .override').textContent.trim() === '—',
      null, { timeout: 15000 });
    assert.equal(await page.evaluate(() => window.__noReload), 42);
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
