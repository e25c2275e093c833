import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import type { Preview } from '../../src/http/preview/preview-routes.ts';
import { loadTemplateSet } from '../../src/templates/template-registry.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { launchChromium } from '../support/chromium.ts';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import { atRiskCustomer, putCustomers, winBack } from '../campaigns/helpers.ts';

/** The page must pick up a saved template within this (the brief: "within a second"; 5 s leaves room for a loaded CI box). */
const RELOAD_MS = 5000;

let work: string;
let templatesDir: string;
let t: TestApp;
let server: Server;
let base: string;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
const pageErrors: string[] = [];
const cspViolations: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'inboxcart-preview-'));
  // A copy, so the edits below never touch the repository's templates.
  templatesDir = join(work, 'templates');
  cpSync(join(PROJECT_ROOT, 'templates'), templatesDir, { recursive: true });
  const env = { TEMPLATES_DIR: templatesDir };
  t = await openTestApp({ env, dataDir: join(work, 'data'), templates: await loadTemplateSet({ root: templatesDir }) });
  server = t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1100 }, acceptDownloads: true });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
});

afterAll(async () => {
  await browser?.close();
  (t?.app.locals.preview as Preview | undefined)?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
  if (work) removeDir(work);
});

/** Selects the options in order and waits for the render that the last change started. */
async function choose(p: Page, picks: Record<string, string>): Promise<void> {
  for (const [id, value] of Object.entries(picks)) await p.selectOption(`#${id}`, value);
  await p.locator('body[data-state^="rendered"], body[data-state="error"]').waitFor();
}

function edit(file: string, change: (text: string) => string): () => void {
  const path = join(templatesDir, file);
  const before = readFileSync(path, 'utf8');
  const after = change(before);
  expect(after).not.toBe(before);
  writeFileSync(path, after);
  return () => writeFileSync(path, before);
}

describe('designers’ preview in Chromium', () => {
  it('shows every part of price-drop for Ingrid in Swedish', async () => {
    await page.goto(`${base}/preview`);
    await choose(page, { template: 'price-drop', profile: 'ingrid', locale: 'sv' });

    expect(await page.textContent('#sender')).toBe('Nordlys');
    expect(await page.textContent('#subject')).toBe('Prissänkt: Merino Rib Knit Top');
    expect(await page.textContent('#preheader')).toBe('Något du gillade kostar mindre nu.');
    expect(await page.textContent('#segments')).toContain('at_risk');
    expect(await page.textContent('#locale-used')).toBe('sv');

    // The HTML part at both widths, each in a sandboxed frame.
    for (const [id, width] of [['#phone-frame', 375], ['#desktop-frame', 720]] as const) {
      const frame = page.locator(id);
      expect(await frame.getAttribute('sandbox')).toBe('');
      expect(await frame.evaluate((el) => el.clientWidth)).toBe(width);
      await expect.poll(() => page.frameLocator(id).locator('body').textContent()).toContain('Goda nyheter: priset har sänkts');
    }

    expect(await page.textContent('#amp-verdict')).toBe('PASS');
    expect(await page.textContent('#amp-source')).toContain('<html ⚡4email');
    expect(await page.textContent('#text-part')).toContain('Merino Rib Knit Top');

    // Ingrid last wrote on WhatsApp long ago: only the approved template may go out.
    expect(await page.textContent('#wa-state')).toMatch(/Approved template · outside the 24-hour window/);
    const bubble = await page.textContent('#wa-bubble');
    expect(bubble).toContain('Hej Ingrid!');
    // The reduction against the sample history's 30-day lowest price, as the email beside it says.
    expect(bubble).toContain('Merino Rib Knit Top kostar 653,65\u00a0kr för dig (15 % rabatt på 769,00\u00a0kr; lägsta pris de senaste 30 dagarna: 879,00\u00a0kr)');
    expect(await page.locator('#wa-buttons .wa-button').allTextContents()).toEqual(['Köp nu', 'Stoppa erbjudanden']);

    const sizes = await page.textContent('#sizes');
    expect(sizes).toContain('AMP part');
    expect(sizes).toContain('< 100,000 B');
    expect(sizes).toContain('≤ 75,000 B');
    expect(sizes).toContain('< 102,000 B');
    expect(await page.locator('#sizes tr.over').count()).toBe(0);

    mkdirSync(join(PROJECT_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(PROJECT_ROOT, 'test-artifacts', 'preview.png'), fullPage: true });
  });

  it('re-renders when a locale string is saved', async () => {
    await page.waitForSelector('#live[data-live="yes"]');
    const restore = edit('locales/sv.json', (s) => s.replace('"subject": "Prissänkt: {title}"', '"subject": "Nu billigare: {title}"'));
    try {
      await page.locator('#subject', { hasText: 'Nu billigare: Merino Rib Knit Top' }).waitFor({ timeout: RELOAD_MS });
    } finally {
      restore();
    }
    await page.locator('#subject', { hasText: 'Prissänkt: Merino Rib Knit Top' }).waitFor({ timeout: RELOAD_MS });
  });

  it('re-renders when email.mjml is saved', async () => {
    const restore = edit('price-drop/email.mjml', (s) => s.replace('<mj-button href="{{url}}">', '<mj-text>Handpicked in Åre</mj-text>\n    <mj-button href="{{url}}">'));
    try {
      await expect.poll(() => page.frameLocator('#phone-frame').locator('body').textContent(), { timeout: RELOAD_MS }).toContain('Handpicked in Åre');
    } finally {
      restore();
    }
    await expect.poll(() => page.frameLocator('#phone-frame').locator('body').textContent(), { timeout: RELOAD_MS }).not.toContain('Handpicked in Åre');
  });

  it('shows a broken template’s file, line and fix, and recovers when it is fixed', async () => {
    const file = 'price-drop/email.mjml';
    const lines = readFileSync(join(templatesDir, file), 'utf8').split('\n');
    const after = lines.findIndex((l) => l.trim() === '</mj-section>');
    const restore = edit(file, () => [...lines.slice(0, after + 1), '{{#if x}}', ...lines.slice(after + 1)].join('\n'));
    const brokenLine = after + 2;
    try {
      const problem = page.locator('#problem-list li', { hasText: `${file}:${brokenLine}` });
      await problem.waitFor({ timeout: RELOAD_MS });
      expect(await problem.textContent()).toContain("block helper '{{#if x}}' between MJML components");
      expect(await problem.textContent()).toContain('Fix: wrap it in <mj-raw>');
      expect(await page.getAttribute('body', 'data-state')).toBe('error');
      // The last good render stays visible, dimmed, instead of a blank page.
      expect(await page.getAttribute('#panes', 'class')).toContain('stale');
      expect(await page.textContent('#subject')).toBe('Prissänkt: Merino Rib Knit Top');
    } finally {
      restore();
    }
    await page.locator('#problems').waitFor({ state: 'hidden', timeout: RELOAD_MS });
    expect(await page.getAttribute('#panes', 'class')).not.toContain('stale');
    expect(await page.textContent('#amp-verdict')).toBe('PASS');
  });

  it('downloads the .eml with text, AMP and HTML parts in that order', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-eml')]);
    expect(download.suggestedFilename()).toBe('price-drop-ingrid-sv.eml');
    const eml = readFileSync(await download.path(), 'utf8');
    expect(eml).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(eml).toMatch(/^To: ingrid\.lindqvist@example\.com$/m);
    const order = ['text/plain', 'text/x-amp-html', 'text/html'].map((type) => eml.search(new RegExp(`^Content-Type: ${type.replace('/', '\\/')}`, 'm')));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('renders the hostile profile as text, running none of its script', async () => {
    await choose(page, { template: 'recommendations', profile: 'hostile', locale: '' });
    expect(await page.getAttribute('body', 'data-state')).toMatch(/^rendered/);
    // The markup shows up as characters in the inbox row and the chat bubble…
    expect(await page.textContent('#subject')).toContain('"><img src=x onerror=alert(1)><script>alert(1)</script>');
    expect(await page.textContent('#wa-bubble')).toContain('<script>alert(1)</script>');
    // …and nowhere as elements, in the page or in the email frames.
    expect(await page.locator('script').count()).toBe(2);
    expect(await page.locator('img[src="x"], svg, [onerror], [onload]').count()).toBe(0);
    for (const id of ['#phone-frame', '#desktop-frame']) {
      expect(await page.frameLocator(id).locator('script, img[src="x"], [onerror], [onload]').count()).toBe(0);
    }
    // An onerror handler would run while its frame loads: once every frame has loaded, it would have.
    for (const frame of page.frames()) await frame.waitForLoadState('load');
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });

  it('validates a pasted profile and shows the wrong fields', async () => {
    await choose(page, { template: 'price-drop', profile: '(paste)' });
    expect(await page.isVisible('#profile-json')).toBe(true);

    await page.fill('#profile-json', '{"id": "cust-1",');
    await page.click('#render-pasted');
    await page.locator('#problem-list', { hasText: 'pasted profile is not valid JSON' }).waitFor();

    await page.fill('#profile-json', JSON.stringify({ id: '', email: 'not-an-address', currency: 'euro' }));
    await page.click('#render-pasted');
    const problems = page.locator('#problem-list');
    await problems.locator('.where', { hasText: 'profile.email' }).waitFor();
    expect(await problems.locator('.where').allTextContents()).toEqual(['error', 'profile.id', 'profile.email', 'profile.currency']);
    expect(await problems.textContent()).toContain('The pasted profile has 3 invalid field(s)');

    await page.fill('#profile-json', JSON.stringify({ id: 'cust-pasted', firstName: 'Alex', email: 'alex@example.com', locale: 'sv', currency: 'SEK' }));
    await page.click('#render-pasted');
    await page.locator('#subject', { hasText: 'Prissänkt:' }).waitFor();
    expect(await page.textContent('#wa-state')).toContain('Not sent');
  });

  it('shows a progress bar per campaign that advances to 100 % as its chunks are sent', async () => {
    const ids = ['pb-1', 'pb-2', 'pb-3'];
    await putCustomers(t.app, ids.map((id) => atRiskCustomer(id)));
    const campaigns = t.app.locals.campaigns as Campaigns;
    expect((await campaigns.create(winBack('bar-1', { audience: { customerIds: ids } }) as never)).kind).toBe('created');

    await page.goto(`${base}/preview`);
    const row = page.locator('#campaign-list li[data-id="bar-1"]');
    await row.waitFor({ timeout: RELOAD_MS });
    expect(await row.getAttribute('data-percent')).toBe('0');
    expect(await row.locator('.campaign-percent').textContent()).toBe('0 %');

    // No worker runs in this app: the chunks go when the test says, and the page's next poll shows it.
    await (campaigns.runner as EmbeddedRunner).drain();
    await page.locator('#campaign-list li[data-id="bar-1"][data-percent="100"]').waitFor({ timeout: RELOAD_MS });
    expect(await row.locator('.campaign-percent').textContent()).toBe('100 %');
    expect(await row.locator('progress').evaluate((p) => [(p as unknown as { value: number }).value, (p as unknown as { max: number }).max])).toEqual([3, 3]);
    expect(await row.getAttribute('data-status')).toBe('completed');
  });

  it('lists the triggers and shows the message one would send the chosen profile', async () => {
    await page.goto(`${base}/preview`);
    await choose(page, { template: 'recommendations', profile: 'rachel' });
    const row = page.locator('#trigger-list li[data-trigger="price-drop"]');
    await row.waitFor();
    expect(await page.locator('#trigger-list li').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trigger')))).toEqual(['price-drop', 'back-in-stock', 'abandoned-cart', 'birthday', 'win-back']);
    await row.locator('button.simulate').click();
    await page.locator('#subject', { hasText: 'Price drop:' }).waitFor();
    // Rachel's WhatsApp window closed on 20 November: the alert goes by email.
    expect(await row.locator('.trigger-channel').textContent()).toBe('would send on email');
  });
});
