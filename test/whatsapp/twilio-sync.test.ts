import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandTwilioSync } from '../../src/cli/twilio-sync.ts';
import type { Config } from '../../src/config.ts';
import { createApp } from '../../src/http/create-app.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import type { TemplateSet } from '../../src/templates/template-registry.ts';
import { catalogFixture, FIXED_NOW, picks, profile, testConfig, testTemplates } from '../http/helpers.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { testClock } from '../support/test-clock.ts';

let fake: FakeTwilio;
let config: Config;
let templates: TemplateSet;
const output: string[] = [];
const sync = (extra: { dryRun?: boolean } = {}) => commandTwilioSync({ config, templates, httpClient: fake.httpClient, out: (l) => output.push(l), ...extra });

beforeAll(async () => {
  fake = await startFakeTwilio();
  config = testConfig(mkdtempSync(join(tmpdir(), 'inboxcart-sync-')), {
    PUBLIC_BASE_URL: 'https://mail.example.com',
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
  });
  templates = await testTemplates();
});
afterAll(async () => {
  await fake?.close();
});

const approvedTemplates = () => [...templates.templates.values()].filter((c) => c.whatsapp).length;
const withStore = async <T>(fn: (store: Store) => Promise<T>) => {
  const store = await openStore({ dataDir: config.dataDir, now: testClock.now });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
};

describe('npx inboxcart twilio sync', () => {
  it('--dry-run lists what it would create and writes nothing', async () => {
    expect(await sync({ dryRun: true })).toBe(0);
    expect(output.at(-1)).toBe(`✓ ${13 + approvedTemplates() * 3} Content definitions: ${13 + approvedTemplates() * 3} to create, 0 to update, 0 unchanged, 0 failed.`);
    expect(fake.requests).toEqual([]);
    expect(await withStore((s) => s.whatsappContents.list())).toEqual([]);
  });

  it('creates the session shapes and one approved template per locale through the Content API, submits those for approval, and records every sid', async () => {
    output.length = 0;
    expect(await sync()).toBe(0);
    const creates = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/Content');
    expect(creates).toHaveLength(13 + approvedTemplates() * 3);
    for (const r of fake.requests) {
      expect(r.twilioHost).toBe('content.twilio.com');
      expect(r.auth).toEqual({ username: fake.accountSid, password: fake.authToken });
      expect(r.contentType).toMatch(/^application\/json/);
    }

    // Generic session shapes: every field a numbered variable, in sessionShape() order.
    const byName = new Map(creates.map((r) => [(r.json as { friendly_name: string }).friendly_name, r.json as Record<string, unknown>]));
    expect(byName.get('inboxcart_session_quick_reply_2')).toEqual({
      friendly_name: 'inboxcart_session_quick_reply_2',
      language: 'en',
      variables: { '1': 'Which one would you like?', '2': 'option_1', '3': 'Option 1', '4': 'option_2', '5': 'Option 2' },
      types: { 'twilio/quick-reply': { body: '{{1}}', actions: [{ type: 'QUICK_REPLY', id: '{{2}}', title: '{{3}}' }, { type: 'QUICK_REPLY', id: '{{4}}', title: '{{5}}' }] } },
    });
    const list = byName.get('inboxcart_session_list_picker_10')!.types as Record<string, { body: string; button: string; items: unknown[] }>;
    expect(list['twilio/list-picker']!.items).toHaveLength(10);
    expect(list['twilio/list-picker']!.items[9]).toEqual({ id: '{{30}}', item: '{{31}}', description: '{{32}}' });

    // Approved templates in each locale's words, with Twilio variables and fixture samples.
    const sv = byName.get('inboxcart_price_drop_sv')!;
    expect(sv.language).toBe('sv');
    expect(sv.types).toEqual({
      'twilio/quick-reply': {
        body: 'Hej {{1}}! {{2}} kostar {{3}}. Vill du ha den?',
        actions: [{ type: 'QUICK_REPLY', id: '{{4}}', title: 'Köp nu' }, { type: 'QUICK_REPLY', id: '{{5}}', title: 'Stoppa erbjudanden' }],
      },
    });
    expect(Object.keys(sv.variables as object)).toEqual(['1', '2', '3', '4', '5']);
    expect((sv.variables as Record<string, string>)['2']).toBe('Merino Rib Knit Top');
    const confirmation = byName.get('inboxcart_order_confirmation_en')!;
    expect(confirmation.types).toEqual({ 'twilio/text': { body: 'Thank you for your order! Order {{1}} is confirmed, total {{2}}. Next step: {{3}} Reply HELP if you have questions.' } });

    const approvals = fake.requests.filter((r) => r.path.endsWith('/ApprovalRequests/whatsapp'));
    expect(approvals).toHaveLength(approvedTemplates() * 3);
    const bySid = new Map([...fake.contents.values()].map((c) => [c.friendly_name, c]));
    expect(bySid.get('inboxcart_order_confirmation_tr')!.approval).toEqual({ name: expect.stringMatching(/^inboxcart_order_confirmation_tr_[0-9a-f]{8}$/), category: 'UTILITY' });
    expect(bySid.get('inboxcart_price_drop_en')!.approval!.category).toBe('MARKETING');
    expect(bySid.get('inboxcart_session_quick_reply_1')!.approval).toBeUndefined();

    const recorded = await withStore((s) => s.whatsappContents.list());
    expect(recorded).toHaveLength(13 + approvedTemplates() * 3);
    for (const r of recorded) expect(fake.contents.get(r.sid)?.friendly_name).toBe(r.friendlyName);
    expect(recorded.find((r) => r.key === 'template:inboxcart_price_drop:sv')).toMatchObject({ approvalStatus: 'received' });
    expect(recorded.find((r) => r.key === 'session:quick-reply:3')!.approvalStatus).toBeUndefined();
    // Every shipped approved body passes WhatsApp's review rules, so the sync warns about none.
    expect(output.filter((l) => l.startsWith('! '))).toEqual([]);
  });

  it('a second run sends nothing for unchanged definitions and updates a changed session shape in place', async () => {
    const before = fake.requests.length;
    output.length = 0;
    expect(await sync()).toBe(0);
    expect(fake.requests.length).toBe(before);
    expect(output.at(-1)).toMatch(/: 0 created, 0 updated, \d+ unchanged, 0 failed\.$/);

    const quick1 = (await withStore((s) => s.whatsappContents.get('session:quick-reply:1')))!;
    await withStore((s) => s.whatsappContents.upsert({ ...quick1, fingerprint: 'an-older-definition' }));
    expect(await sync()).toBe(0);
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([`PUT /v1/Content/${quick1.sid}`]);
    expect((await withStore((s) => s.whatsappContents.get('session:quick-reply:1')))!.sid).toBe(quick1.sid);
  });

  it('renders use the recorded sids: session shapes inside the window, the approved template outside', async () => {
    const store = await openStore({ dataDir: config.dataDir, now: testClock.now });
    try {
      await store.products.upsertMany(catalogFixture());
      const sids = new Map((await store.whatsappContents.list()).map((c) => [c.key, c.sid]));
      const app = await createApp({ config, store, templates, twilioHttpClient: fake.httpClient });
      const body = (name: string, lastInboundAt?: string) => ({
        template: 'price-drop',
        profile: { ...profile(name), ...(lastInboundAt ? { whatsapp: { lastInboundAt } } : {}) },
        recommendations: picks('price-drop'),
        channels: ['whatsapp'],
        context: { now: FIXED_NOW },
      });
      const inside = await request(app).post('/v1/render').send(body('sophie', '2026-11-22T09:00:00Z')).expect(200);
      expect(inside.body.whatsapp.message.contentSid).toBe(sids.get('session:quick-reply:3'));
      expect(inside.body.warnings.join('\n')).not.toMatch(/not synced/);
      const outside = await request(app).post('/v1/render').send(body('rachel')).expect(200);
      expect(outside.body.whatsapp).toMatchObject({ kind: 'template', message: { contentSid: sids.get('template:inboxcart_price_drop:en') } });
    } finally {
      await store.close();
    }
  });

  it('without Twilio credentials it says which variables to set', async () => {
    const lines: string[] = [];
    const code = await commandTwilioSync({ config: { ...config, twilio: {} }, templates, out: (l) => lines.push(l) });
    expect(code).toBe(2);
    expect(lines.join('\n')).toMatch(/Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN/);
  });
});
