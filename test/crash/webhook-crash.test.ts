import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { describe, it } from 'vitest';
import { compactAmpClaims } from '../../src/commerce/amp-claims.ts';
import { signToken } from '../../src/commerce/signed-token.ts';
import { openStore, type OpenStoreOptions } from '../../src/store/index.ts';
import { SENDER } from '../amp/amp-kit.ts';
import { removeDir, testConfig } from '../http/helpers.ts';
import { BACKENDS, dropPgSchema, PG_URL } from '../store/backends.ts';
import { startFakeTwilio } from '../support/fake-twilio.ts';
import { freePort } from '../support/free-port.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';
import { messageSid, PUBLIC_BASE_URL, WA_FROM } from '../whatsapp/helpers.ts';
import { serviceEnv, startServiceProcess, type ServiceProcess } from './service-process.ts';

/**
 * `kill -9` of the service while the webhooks of two orders it committed (one from an email, one
 * from the chat) are out to the shop's receiver, which holds them without answering. The service
 * restarts on the same database and, once the dead process's leases have run out, delivers both:
 * the receiver takes in each event exactly once, signed. The service runs as `npm start` does, on
 * the real clock (like crash-restart.test.ts), with a short WEBHOOK_TIMEOUT_MS so the lease (the
 * timeout and 10 s) runs out soon.
 */
const TOKEN_SECRETS = 'crash:0123456789abcdef0123456789abcdef';
const TOKEN_KEYS = testConfig(tmpdir(), { TOKEN_SECRETS }).tokenKeys;
const SECRET = 'whsec_crash_0123456789abcdef01234567';
const TIMEOUT_MS = 5_000;
const ADDRESS = { name: 'Nora Lind', line1: '1 Harbour Road', city: 'Cork', postalCode: 'T12 AB34', country: 'IE' };

describe('webhooks survive a kill -9 between commit and delivery', () => {
  it.concurrent.for(BACKENDS)('on %s: each order reaches the receiver exactly once after the restart', { timeout: 120_000 }, async (backend, { expect }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-hookcrash-'));
    const pgSchema = backend === 'postgres' ? `t_hookcrash_${randomBytes(6).toString('hex')}` : undefined;
    const storeOptions: OpenStoreOptions = pgSchema ? { databaseUrl: PG_URL, pgSchema } : { dataDir };
    const fake = await startFakeTwilio();
    let killed = false;
    const receiver = await startWebhookReceiver({ secret: SECRET, now: () => new Date() });
    // Until the kill every request is held open; after the restart every one is taken.
    receiver.respond = () => (killed ? 200 : 'hang');
    const services: ServiceProcess[] = [];
    try {
      const phone = '+353871112233';
      const seed = await openStore(storeOptions);
      try {
        await seed.products.upsertMany([{ sku: 'HC-CAP', title: 'Crash Cap', price: 15, currency: 'EUR', url: 'https://shop.nordlys.example/p/hc-cap', sizes: [{ size: 'ONE', stock: 10 }] }]);
        await seed.customers.upsert({ id: 'hc-email', locale: 'en', currency: 'EUR', timezone: 'Europe/Dublin', profile: { id: 'hc-email', consent: { email: true, whatsapp: false, sms: false } }, address: ADDRESS });
        await seed.customers.upsert({
          id: 'hc-chat',
          phone,
          locale: 'en',
          currency: 'EUR',
          timezone: 'Europe/Dublin',
          profile: { id: 'hc-chat', firstName: 'Nora', consent: { email: true, whatsapp: true, sms: false } },
          address: ADDRESS,
          paymentMethod: { type: 'card', last4: '4242', token: 'pm_hc' },
        });
        await seed.conversations.save(
          { customerId: 'hc-chat', phone, state: { flowId: 'hc-flow', mode: 'item', sku: 'HC-CAP', size: 'ONE', quantity: 1 }, step: 'confirm', locale: 'en', expiresAt: new Date(Date.now() + 3_600_000).toISOString() },
          0,
        );
      } finally {
        await seed.close();
      }
      const env = serviceEnv(
        { dataDir, ...(pgSchema ? { pgSchema } : {}), tokenSecrets: TOKEN_SECRETS, publicBaseUrl: PUBLIC_BASE_URL, ampSender: SENDER, fake, whatsappFrom: WA_FROM },
        { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) },
      );
      const port = await freePort();
      const first = await startServiceProcess(env, port);
      services.push(first);

      const token = signToken({ ...compactAmpClaims({ sub: 'hc-email', msg: 'hc-msg', cmp: 'crash', tpl: 'recommendations', skus: ['HC-CAP'], currency: 'EUR', locale: 'en' }), exp: Math.floor(Date.now() / 1000) + 3600 }, TOKEN_KEYS);
      const email = await first.post(`/amp/v1/checkout?token=${token}`, { 'content-type': 'application/x-www-form-urlencoded', 'amp-email-sender': SENDER }, 'sku=HC-CAP&size=ONE&quantity=1');
      expect(email.status, email.body).toBe(200);
      const params = { MessageSid: messageSid(), AccountSid: fake.accountSid, From: `whatsapp:${phone}`, To: WA_FROM, Body: 'Yes', NumMedia: '0' };
      const signature = twilio.getExpectedTwilioSignature(fake.authToken, `${PUBLIC_BASE_URL}/whatsapp/v1/inbound`, params);
      const chat = await first.post('/whatsapp/v1/inbound', { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, new URLSearchParams(params).toString());
      expect(chat.status).toBe(200);

      // Both order.created deliveries are out and unanswered: the process dies now.
      await receiver.waitFor(() => receiver.hanging() === 2, 'both deliveries held open', 20_000);
      killed = true;
      await first.kill();

      const second = await startServiceProcess(env, port);
      services.push(second);
      await receiver.waitFor(() => receiver.accepted().length === 2, 'both events delivered after the restart', TIMEOUT_MS + 10_000 + 30_000);
      expect(await second.stop()).toBe(0);

      const store = await openStore(storeOptions);
      try {
        const orders = [...(await store.orders.listByCustomer('hc-email')), ...(await store.orders.listByCustomer('hc-chat'))];
        expect(orders.map((o) => o.channel)).toEqual(['email', 'whatsapp']);
        const events = (await Promise.all(orders.map((o) => store.webhooks.events({ orderId: o.id })))).flat();
        expect(events.map((e) => e.type)).toEqual(['order.created', 'order.created']);
        expect(receiver.accepted().map((r) => r.id).sort()).toEqual(events.map((e) => e.id).sort());
        expect(receiver.requests.every((r) => r.verified)).toBe(true);
        // The attempts the dead process made were cut off: each event reached the receiver twice, and was taken once.
        expect(receiver.requests.map((r) => [r.id, r.answer]).sort()).toEqual(events.flatMap((e) => [[e.id, 'hang'], [e.id, 200]]).sort());
        const deliveries = (await store.webhooks.deliveries({ limit: 10 })).map((d) => d.delivery);
        expect(deliveries.map((d) => [d.state, d.attempts])).toEqual([
          ['delivered', 1],
          ['delivered', 1],
        ]);
      } finally {
        await store.close();
      }
    } finally {
      for (const s of services) await s.kill().catch(() => undefined);
      await receiver.close();
      await fake.close();
      removeDir(dataDir);
      if (pgSchema) await dropPgSchema(pgSchema);
    }
  });
});
