// The live-chat widget in a real browser against a running omnichat:
// app/browser_test.go starts the product and runs this file with
//   OMNICHAT_URL       the server's base URL
//   OMNICHAT_TOKEN     an admin's API token
//   OMNICHAT_CONTROL_URL  restarts the server with a reply written meanwhile
//   CHROMIUM           the browser binary (default /usr/bin/chromium)
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const base = process.env.OMNICHAT_URL;
const token = process.env.OMNICHAT_TOKEN;
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// until polls fn until it returns a value, for up to 20 s.
async function until(what, fn) {
  const deadline = Date.now() + 20000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sessionOf(contactName) {
  return until(`a session of ${contactName}`, async () => {
    const { items } = await api('GET', '/api/v1/sessions');
    return items.find((s) => s.contact.name === contactName || s.last_message?.text?.includes(contactName));
  });
}

test('a visitor writes, an agent answers, the visitor sees it live', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(base + '/');

  const launcher = page.locator('omnichat-widget button.launcher');
  await launcher.click();
  const box = page.locator('omnichat-widget textarea');
  await box.fill('Hello from a real browser (case 1)');
  await box.press('Enter');
  await page.locator('omnichat-widget .msg.in', { hasText: 'Hello from a real browser (case 1)' }).waitFor();

  const s = await sessionOf('case 1');
  assert.equal(s.status, 'rep_needed');
  await api('POST', `/api/v1/sessions/${s.id}/join`);
  await api('POST', `/api/v1/sessions/${s.id}/messages`, { text: 'Hi! An agent here.', client_id: 'b1' });
  await page.locator('omnichat-widget .msg.out', { hasText: 'Hi! An agent here.' }).waitFor();

  // Agents' text is shown as text, never as markup.
  await api('POST', `/api/v1/sessions/${s.id}/messages`, { text: '<img src=x onerror="window.pwned=1"><b>bold?</b>', client_id: 'b2' });
  await page.locator('omnichat-widget .msg.out', { hasText: '<b>bold?</b>' }).waitFor();
  assert.equal(await page.locator('omnichat-widget .msg img').count(), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);

  // The conversation survives a reload.
  await page.reload();
  await page.locator('omnichat-widget button.launcher').click();
  await page.locator('omnichat-widget .msg.out', { hasText: 'Hi! An agent here.' }).waitFor();
  await page.locator('omnichat-widget .msg.in', { hasText: 'Hello from a real browser (case 1)' }).waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('the widget recovers what it missed while its connection was down', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.locator('omnichat-widget button.launcher').click();
  const box = page.locator('omnichat-widget textarea');
  await box.fill('Offline soon (case 2)');
  await box.press('Enter');
  await page.locator('omnichat-widget .msg.in', { hasText: 'Offline soon (case 2)' }).waitFor();
  const s = await sessionOf('case 2');

  // The server restarts, cutting the widget's event stream; the agent's
  // reply is written while no stream is connected to hear of it.
  const res = await fetch(process.env.OMNICHAT_CONTROL_URL, {
    method: 'POST', body: JSON.stringify({ session_id: s.id, text: 'Sent while you were away.' }),
  });
  assert.equal(res.status, 200);
  await page.locator('omnichat-widget .msg.out', { hasText: 'Sent while you were away.' }).waitFor({ timeout: 30000 });
  await context.close();
});
