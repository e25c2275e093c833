import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import twilio from 'twilio';
import { sessionDefinitions } from '../../src/channels/whatsapp/content-definitions.ts';
import { syncContent } from '../../src/channels/whatsapp/content-sync.ts';
import { createTwilioClient } from '../../src/channels/whatsapp/twilio-sender.ts';
import { seedFixtureCatalog } from '../../src/shop/seed-catalog.ts';
import { seedFixtureCustomers } from '../../src/shop/seed-customers.ts';
import type { Config } from '../../src/config.ts';
import type { WebhookDispatcher } from '../../src/channels/webhooks/webhook-dispatcher.ts';
import { createApp, type AppDeps } from '../../src/http/create-app.ts';
import type { Logger } from '../../src/http/logger.ts';
import type { WhatsAppRoutes } from '../../src/http/whatsapp/whatsapp-routes.ts';
import { openStore, type OpenStoreOptions, type Store } from '../../src/store/index.ts';
import type { TemplateSet } from '../../src/templates/template-registry.ts';
import { createBackend, PG_URL, uid, type BackendName } from '../store/backends.ts';
import { FIXTURES, testConfig, testTemplates } from '../http/helpers.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { createManualSchedule, type ManualSchedule } from '../support/manual-schedule.ts';
import { testClock } from '../support/test-clock.ts';

export const PUBLIC_BASE_URL = 'https://mail.example.com';
export const WA_FROM = 'whatsapp:+14155238886';
export const PHONES = { rachel: '+447700900456', sophie: '+447700900123', emre: '+905321234567', ingrid: '+46701234567' } as const;

export interface WhatsAppTestApp {
  app: Express;
  store: Store;
  /** What the store was opened with: another instance opens the same database with them. */
  storeOptions: OpenStoreOptions;
  config: Config;
  templates: TemplateSet;
  twilio: FakeTwilio;
  whatsapp: WhatsAppRoutes;
  /** The retries of failed replies: pending until a test runs them (after moving the clock). */
  retries: ManualSchedule;
  /** POSTs a webhook the way Twilio does: form-encoded and signed by the twilio library. */
  post(path: '/whatsapp/v1/inbound' | '/whatsapp/v1/status', params: Record<string, string>, options?: { signWith?: string; query?: string }): request.Test;
  /** An inbound message from `phone`, with a fresh MessageSid unless given; waits for the replies to go out. */
  say(phone: string, text: string, extra?: Record<string, string>): Promise<request.Response>;
  /** A tap on a button (ButtonPayload) or list row (ListId). */
  tap(phone: string, id: string, field?: 'ButtonPayload' | 'ListId'): Promise<request.Response>;
  close(): Promise<void>;
}

export const messageSid = () => `SM${randomBytes(16).toString('hex')}`;

/**
 * The service on SQLite or PostgreSQL (a schema of its own), seeded with the sample catalog and
 * customers, its Twilio client pointed at a local fake API. With `sync`, the session Content
 * shapes are synced first, so replies go out by ContentSid.
 */
export async function openWhatsAppApp(
  backend: BackendName,
  options: {
    sync?: boolean;
    env?: Record<string, string>;
    logger?: Logger;
    webhookTimers?: AppDeps['webhookTimers'];
    /** Another instance on this app's database (a restart, a second replica): nothing is seeded, the database stays when it closes. */
    sameDatabaseAs?: WhatsAppTestApp;
  } = {},
): Promise<WhatsAppTestApp> {
  const fake = await startFakeTwilio();
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-wa-'));
  const b = createBackend(backend);
  const config = testConfig(dataDir, {
    PUBLIC_BASE_URL,
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_WHATSAPP_FROM: WA_FROM,
    ...(backend === 'postgres' ? { DATABASE_URL: PG_URL } : {}),
    ...options.env,
  });
  const shared = options.sameDatabaseAs;
  const storeOptions: OpenStoreOptions = {
    ...(shared ? shared.storeOptions : backend === 'sqlite' ? { dataDir, sqliteFile: 'store.sqlite', now: testClock.now } : b.options),
    webhookUrls: config.webhooks.urls,
  };
  const store = await openStore(storeOptions);
  if (!shared) {
    await seedFixtureCatalog(store, FIXTURES);
    await seedFixtureCustomers(store, FIXTURES);
  }
  if (options.sync) {
    const client = createTwilioClient(config, { httpClient: fake.httpClient });
    await syncContent(client, store.whatsappContents, sessionDefinitions());
  }
  const templates = await testTemplates();
  const retries = createManualSchedule();
  const app = await createApp({ config, store, templates, twilioHttpClient: fake.httpClient, scheduleReplyRetry: retries.schedule, logger: options.logger, webhookTimers: options.webhookTimers });
  const whatsapp = app.locals.whatsapp as WhatsAppRoutes;

  const post: WhatsAppTestApp['post'] = (path, params, opts = {}) => {
    const query = opts.query ? `?${opts.query}` : '';
    const signature = twilio.getExpectedTwilioSignature(opts.signWith ?? fake.authToken, `${PUBLIC_BASE_URL}${path}${query}`, params);
    return request(app).post(`${path}${query}`).type('form').set('X-Twilio-Signature', signature).send(params);
  };
  const inboundParams = (phone: string, body: string, extra: Record<string, string> = {}) => ({
    MessageSid: messageSid(),
    AccountSid: fake.accountSid,
    From: `whatsapp:${phone}`,
    To: WA_FROM,
    Body: body,
    NumMedia: '0',
    ProfileName: 'Customer',
    WaId: phone.slice(1),
    SmsStatus: 'received',
    ApiVersion: '2010-04-01',
    ...extra,
  });
  const say: WhatsAppTestApp['say'] = async (phone, text, extra) => {
    const res = await post('/whatsapp/v1/inbound', inboundParams(phone, text, extra));
    await whatsapp.idle();
    return res;
  };
  return {
    app,
    store,
    storeOptions,
    config,
    templates,
    twilio: fake,
    whatsapp,
    retries,
    post,
    say,
    tap: (phone, id, field = 'ButtonPayload') => say(phone, field === 'ButtonPayload' ? 'tapped' : 'chosen', { [field]: id, MessageType: 'interactive' }),
    async close() {
      await whatsapp.idle();
      await (app.locals.webhooks as WebhookDispatcher | undefined)?.idle();
      await store.close();
      await fake.close();
      await b.destroy();
    },
  };
}

/** The ids of the buttons or rows in a sent message, in order (from a session shape's variables). */
export function choiceIds(message: { ContentSid?: string; ContentVariables?: Record<string, string> }, shape: 'quick-reply' | 'list-picker'): string[] {
  const vars = message.ContentVariables ?? {};
  const out: string[] = [];
  if (shape === 'quick-reply') for (let i = 2; vars[String(i)] !== undefined; i += 2) out.push(vars[String(i)]!);
  else for (let i = 3; vars[String(i)] !== undefined; i += 3) out.push(vars[String(i)]!);
  return out;
}

/** The labels shown next to those ids (button titles or row titles). */
export function choiceTitles(message: { ContentVariables?: Record<string, string> }, shape: 'quick-reply' | 'list-picker'): string[] {
  const vars = message.ContentVariables ?? {};
  const out: string[] = [];
  if (shape === 'quick-reply') for (let i = 3; vars[String(i)] !== undefined; i += 2) out.push(vars[String(i)]!);
  else for (let i = 4; vars[String(i)] !== undefined; i += 3) out.push(vars[String(i)]!);
  return out;
}

/**
 * Registers a customer no other test shares: a Swedish number of their own, an address and a
 * card on file, WhatsApp consent as given, and `lastInboundAt` when the 24-hour window is open.
 */
export async function registerShopper(store: Store, options: { whatsapp: boolean; lastInboundAt?: string }): Promise<{ customerId: string; phone: string }> {
  const customerId = uid('cust-shopper');
  const phone = `+4670${randomInt(1_000_000, 9_999_999)}`;
  await store.customers.upsert({
    id: customerId,
    phone,
    locale: 'en',
    currency: 'EUR',
    timezone: 'Europe/Stockholm',
    profile: { id: customerId, firstName: 'Alva', consent: { email: true, whatsapp: options.whatsapp, sms: false } },
    address: { name: 'Alva Berg', line1: 'Storgatan 1', city: 'Lund', postalCode: '222 22', country: 'SE' },
    paymentMethod: { type: 'card', last4: '4242', token: `pm_${customerId}` },
    ...(options.lastInboundAt ? { lastInboundAt: options.lastInboundAt } : {}),
  });
  return { customerId, phone };
}
