import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Campaigns } from '../../src/campaigns/campaign-service.ts';
import type { EmbeddedRunner } from '../../src/campaigns/embedded-runner.ts';
import { commandCampaignStatus, progressLine } from '../../src/cli/campaign-progress.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { atRiskCustomer, putCustomers, winBack } from '../campaigns/helpers.ts';

let t: TestApp;
let url: string;
let server: ReturnType<TestApp['app']['listen']>;

beforeAll(async () => {
  t = await openTestApp({});
  server = t.app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await putCustomers(t.app, [atRiskCustomer('cli-1'), atRiskCustomer('cli-2')]);
});

afterAll(async () => {
  server.close();
  await (t.app.locals.campaigns as Campaigns).close();
  await t.close();
  removeDir(t.dataDir);
});

function capture(): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const out = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { out, text: () => text };
}

describe('inboxcart campaign status', () => {
  it('draws the messages through as a bar with the counts', () => {
    const line = progressLine(
      { id: 'wb', status: 'running', template: 'win-back', channels: ['email'], recipients: 4, total: 4, queued: 1, deferred: 1, deferredReasons: { quiet_hours: 1 }, rendered: 1, delivered: 1, suppressed: { total: 1, reasons: { unsubscribed: 1 } }, failed: { total: 0, reasons: {} } },
      20,
    );
    expect(line).toBe('wb running [##########----------]  50% 2/4 · 1 delivered · 1 suppressed · 0 failed · 1 deferred');
  });

  it('prints the progress of a campaign on a running service', async () => {
    await request(t.app).post('/v1/campaigns').send(winBack('cli-camp', { audience: { customerIds: ['cli-1', 'cli-2'] } })).expect(201);
    const before = capture();
    expect(await commandCampaignStatus({ id: 'cli-camp', url, watch: false, out: before.out })).toBe(0);
    expect(before.text()).toBe(`cli-camp running [${'-'.repeat(30)}]   0% 0/2 · 0 delivered · 0 suppressed · 0 failed · 0 deferred\n`);

    await ((t.app.locals.campaigns as Campaigns).runner as EmbeddedRunner).drain();
    const after = capture();
    // --watch returns as soon as the campaign is completed.
    expect(await commandCampaignStatus({ id: 'cli-camp', url, watch: true, out: after.out })).toBe(0);
    expect(after.text()).toBe(`cli-camp completed [${'#'.repeat(30)}] 100% 2/2 · 2 delivered · 0 suppressed · 0 failed · 0 deferred\n`);
    expect(await commandCampaignStatus({ id: 'nope', url, watch: false, out: capture().out })).toBe(1);
  });
});
