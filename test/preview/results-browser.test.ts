import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import { assignVariant } from '../../src/personalize/assign-variant.ts';
import type { Preview } from '../../src/http/preview/preview-routes.ts';
import { createResultsRepository } from '../../src/store/results-repository.ts';
import { atRiskCustomer, putCustomers } from '../campaigns/helpers.ts';
import { openTestApp, picks, removeDir, type TestApp } from '../http/helpers.ts';
import { launchChromium } from '../support/chromium.ts';

const IDS = ['res-1', 'res-2', 'res-3', 'res-4', 'res-5', 'res-6'];
const variantOf = (id: string) => assignVariant(id, 'recommendations', [{ id: 'A', weight: 1 }, { id: 'B', weight: 1 }])!;

let t: TestApp;
let server: Server;
let base: string;
let browser: Browser;
let page: Page;
const foreign: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  t = await openTestApp({ env: { QUIET_HOURS: 'off', FREQUENCY_CAP: 'off' } });
  await putCustomers(t.app, IDS.map((id) => atRiskCustomer(id)));
  await request(t.app)
    .post('/v1/campaigns')
    .send({ id: 'results-ab', template: 'recommendations', variants: ['A', 'B'], audience: { customerIds: IDS }, channels: ['email'], recommendations: picks('new-arrivals') })
    .expect(201);
  await ((t.app.locals.campaigns as Campaigns).runner as EmbeddedRunner).drain();
  // Opens and clicks as the AMP endpoints and /c/<token> record them: two opens and one click per A message.
  const results = createResultsRepository(t.store.db, t.store.now);
  for (const [seq, id] of IDS.entries()) {
    if (variantOf(id) !== 'A') continue;
    const ref = { campaignId: 'results-ab', messageId: `results-ab.${seq}`, variant: 'A', customerId: id };
    await results.recordEvent({ ...ref, kind: 'open', channel: 'email' });
    await results.recordEvent({ ...ref, kind: 'open', channel: 'email' });
    await results.recordEvent({ ...ref, kind: 'click', channel: 'email', sku: 'NL-DRS-001' });
  }

  server = t.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
});

afterAll(async () => {
  await browser?.close();
  (t?.app.locals.preview as Preview | undefined)?.close();
  await (t?.app.locals.campaigns as Campaigns | undefined)?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
  if (t) removeDir(t.dataDir);
});

describe('the preview Results page in Chromium', () => {
  it('is linked from the preview and draws a bar per variant and metric, lengths in proportion to the counts', async () => {
    const a = IDS.filter((id) => variantOf(id) === 'A').length;
    const b = IDS.length - a;
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);

    await page.goto(`${base}/preview`);
    await page.click('#results-link');
    await page.waitForURL(`${base}/preview/results`);
    // The template preview loads the emails' own images; the Results page itself must load nothing.
    foreign.length = 0;
    problems.length = 0;
    await page.reload();
    const campaign = page.locator('section.campaign[data-campaign="results-ab"]');
    await expect(campaign.locator('h2').textContent()).resolves.toBe('results-ab recommendations · completed');

    const bar = (variant: string, metric: string) => campaign.locator(`svg.chart rect.bar[data-variant="${variant}"][data-metric="${metric}"]`);
    const value = async (variant: string, metric: string) => Number(await bar(variant, metric).getAttribute('data-value'));
    const width = async (variant: string, metric: string) => (await bar(variant, metric).boundingBox())!.width;
    expect(await value('A', 'messagesRendered')).toBe(a);
    expect(await value('B', 'messagesRendered')).toBe(b);
    expect(await value('A', 'uniqueOpens')).toBe(a);
    expect(await value('A', 'uniqueClicks')).toBe(a);
    expect(await value('B', 'uniqueOpens')).toBe(0);
    expect(await value('A', 'orders')).toBe(0);
    // As laid out by the browser: the longer count draws the longer bar, an empty one none.
    const longest = Math.max(a, b);
    expect(await width(a >= b ? 'A' : 'B', 'messagesRendered')).toBeGreaterThan(300);
    expect((await width('B', 'messagesRendered')) / (await width('A', 'messagesRendered'))).toBeCloseTo(b / a, 1);
    expect(await bar('B', 'uniqueOpens').getAttribute('width')).toBe('0');
    expect(longest).toBe(Math.max(await value('A', 'messagesRendered'), await value('B', 'messagesRendered')));

    // The numbers beside the chart.
    const row = (variant: string) => campaign.locator(`table.results tr[data-variant="${variant}"] td`);
    expect(await row('A').allTextContents()).toEqual([String(a), `${2 * a} (${a})`, `${a} (${a})`, '0', '0', '0', '–', '0.00%']);
    expect(await row('B').allTextContents()).toEqual([String(b), '0 (0)', '0 (0)', '0', '0', '0', '–', '0.00%']);
    expect(await campaign.locator('p.abtest').textContent()).toBe('B vs A: +0.00 pp conversion (95% CI +0.00 pp to +0.00 pp) — no significant difference at 95% (few conversions: the interval is rough).');

    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });
});
