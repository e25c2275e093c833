import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { describe, it } from 'vitest';
import { sessionDefinitions } from '../../src/channels/whatsapp/content-definitions.ts';
import { syncContent } from '../../src/channels/whatsapp/content-sync.ts';
import { createTwilioClient } from '../../src/channels/whatsapp/twilio-sender.ts';
import { compactAmpClaims } from '../../src/commerce/amp-claims.ts';
import { checkoutKey } from '../../src/shop/email-checkout.ts';
import type { RequestedLine } from '../../src/shop/price-order.ts';
import { signToken } from '../../src/commerce/signed-token.ts';
import { openStore, type Customer, type OpenStoreOptions, type Order, type ProductInput, type Store } from '../../src/store/index.ts';
import { SENDER } from '../amp/amp-kit.ts';
import { removeDir, testConfig } from '../http/helpers.ts';
import { BACKENDS, dropPgSchema, PG_URL } from '../store/backends.ts';
import { startFakeTwilio, type FakeTwilio, type SentMessage } from '../support/fake-twilio.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { freePort } from '../support/free-port.ts';
import { choiceIds, choiceTitles, messageSid, PUBLIC_BASE_URL, WA_FROM } from '../whatsapp/helpers.ts';
import { serviceEnv, startServiceProcess, type HttpAnswer, type ServiceProcess } from './service-process.ts';

/**
 * Crash test: `kill -9` of the service in the middle of concurrent AMP checkouts (a fifth of
 * the forms submitted twice) and WhatsApp customers tapping "Yes" on the confirm step, then a
 * restart on the same database, every unanswered form submitted again and every unanswered
 * webhook retried at once (well inside the 30 s claim lease), as mail clients and Twilio do.
 *
 * The kill point varies from run to run (CRASH_SEED reproduces one); the assertions hold for
 * every kill point: each acknowledged order exists once, the same form always gets the same
 * answer, no webhook turn is lost or doubled, every confirmation goes out once, stock is exact.
 *
 * The service runs as `npm start` does (node + tsx, src/main.ts) with its own SQLite file or
 * PostgreSQL schema, its Twilio calls sent to the fake Twilio API of this process through
 * TWILIO_API_BASE_URL; the reply lease and recovery pass are shortened so that replies a killed
 * process left behind go out within seconds. Everything runs on the real clock (shifted by
 * faketime in CI, for the service and this test alike): tokens and the WhatsApp window are
 * taken from it, never from the fixtures' date.
 */

const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FORMS = 300;
const DOUBLE_SHARE = 0.2;
const WA_CUSTOMERS = 30;
/** How long a killed process's claim on the replies it was sending holds (WHATSAPP_REPLY_LEASE_SECONDS). */
const REPLY_LEASE_S = 10;
/** After the restart, replies have this long to arrive: a lease run out, a recovery pass, and room for a loaded machine. */
const DRAIN_WITHIN_MS = REPLY_LEASE_S * 1000 + 20_000;

const TOKEN_SECRETS = 'crash:0123456789abcdef0123456789abcdef';
const TOKEN_KEYS = testConfig(tmpdir(), { TOKEN_SECRETS }).tokenKeys;

/** Few units in most sizes, so sizes sell out while forms for them are still in flight. */
const PRODUCTS: ProductInput[] = [
  { sku: 'CR-TEE', title: 'Crash Tee', price: 25, currency: 'EUR', url: 'https://shop.nordlys.example/p/cr-tee', sizes: [{ size: 'S', stock: 3 }, { size: 'M', stock: 6 }, { size: 'L', stock: 120 }] },
  { sku: 'CR-CAP', title: 'Crash Cap', price: 15, currency: 'EUR', url: 'https://shop.nordlys.example/p/cr-cap', sizes: [{ size: 'ONE', stock: 8 }] },
  { sku: 'CR-SOCK', title: 'Crash Socks', price: 9, currency: 'EUR', url: 'https://shop.nordlys.example/p/cr-sock', sizes: [{ size: '39-42', stock: 4 }, { size: '43-46', stock: 50 }] },
];
const SLOTS = PRODUCTS.flatMap((p) => p.sizes!.map((s) => ({ sku: p.sku, size: s.size })));
const slotKey = (sku: string, size: string) => `${sku}/${size}`;
const INITIAL_STOCK = new Map(PRODUCTS.flatMap((p) => p.sizes!.map((s) => [slotKey(p.sku, s.size), s.stock] as const)));

const ADDRESS = { name: 'Nora Lind', line1: '1 Harbour Road', city: 'Cork', postalCode: 'T12 AB34', country: 'IE' };

/** One AMP checkout form of one email: "buy now" of one size, or the email's cart. */
interface Form {
  key: string;
  customerId: string;
  kind: 'buy' | 'cart';
  query: string;
  body: string;
  lines: RequestedLine[];
  /** Submitted twice: at the same moment, or again once the first answer came back. */
  double?: 'together' | 'after';
  /** The customer consented to WhatsApp: the order is confirmed there too. */
  whatsapp: boolean;
}

/** What one submission of a form (or one webhook) got. */
type Reply = { phase: 'before' | 'after'; status: number; code?: string; orderId?: string; orderNumber?: string };

interface WaCustomer {
  id: string;
  phone: string;
  size: 'M' | 'L';
  /** The "Yes" tap on the confirm step: one Twilio delivery, retried with the same MessageSid. */
  yes?: Record<string, string>;
  /** Messages to this phone before the "Yes" (the walk to the confirm step). */
  walked: number;
  answers: Reply[];
}

function scenario(random: (n: number) => number): { forms: Form[]; customers: Customer[]; wa: WaCustomer[] } {
  const now = new Date().toISOString();
  const forms: Form[] = [];
  const customers: Customer[] = [];
  for (let i = 0; i < FORMS; i++) {
    const id = `crash-amp-${i}`;
    const whatsapp = random(3) === 0;
    customers.push({
      id,
      locale: 'en',
      currency: 'EUR',
      timezone: 'Europe/Dublin',
      ...(whatsapp ? { phone: `+35387${String(1_000_000 + i)}` } : {}),
      // Inside the WhatsApp window, so the confirmation of an email order goes as session text.
      profile: { id, firstName: `Amp${i}`, consent: { email: true, whatsapp, sms: false }, ...(whatsapp ? { whatsapp: { lastInboundAt: now } } : {}) },
      address: ADDRESS,
      // A fifth have no saved card: their orders await payment through a link.
      ...(random(5) === 0 ? {} : { paymentMethod: { type: 'card', last4: '4242', token: `pm_${id}` } }),
    });
    const msg = `crash-msg-${i}`;
    const pick = () => SLOTS[random(SLOTS.length)]!;
    let lines: RequestedLine[];
    let kind: Form['kind'];
    let fields: Record<string, string>;
    let cart: { sku: string; size: string; quantity: number }[] | undefined;
    if (random(10) < 7) {
      const slot = pick();
      lines = [{ ...slot, quantity: random(5) === 0 ? 2 : 1 }];
      kind = 'buy';
      fields = { sku: slot.sku, size: slot.size, quantity: String(lines[0]!.quantity) };
    } else {
      const a = pick();
      let b = pick();
      while (b.sku === a.sku && b.size === a.size) b = pick();
      lines = [{ ...a, quantity: 1 }, { ...b, quantity: 1 }];
      kind = 'cart';
      fields = { from: 'cart' };
      // The abandoned-cart email showed these lines; the customer has no store cart yet.
      cart = lines.map((l) => ({ ...l }));
    }
    const token = signToken(
      { ...compactAmpClaims({ sub: id, msg, tpl: kind === 'cart' ? 'abandoned-cart' : 'recommendations', skus: [...new Set(lines.map((l) => l.sku))], currency: 'EUR', locale: 'en', ...(cart ? { cart } : {}) }), exp: Math.floor(Date.now() / 1000) + 3600 },
      TOKEN_KEYS,
    );
    const roll = random(100);
    forms.push({
      key: checkoutKey({ sub: id, msg }, kind, lines),
      customerId: id,
      kind,
      query: `/amp/v1/checkout?token=${token}`,
      body: new URLSearchParams(fields).toString(),
      lines,
      ...(roll < DOUBLE_SHARE * 50 ? { double: 'together' as const } : roll < DOUBLE_SHARE * 100 ? { double: 'after' as const } : {}),
      whatsapp,
    });
  }
  const wa: WaCustomer[] = [];
  for (let i = 0; i < WA_CUSTOMERS; i++) {
    const id = `crash-wa-${i}`;
    const phone = `+4477009${String(10_000 + i)}`;
    customers.push({
      id,
      phone,
      locale: 'en',
      currency: 'EUR',
      timezone: 'Europe/London',
      profile: { id, firstName: `Wa${i}`, consent: { email: true, whatsapp: true, sms: false } },
      address: ADDRESS,
      paymentMethod: { type: 'card', last4: '4242', token: `pm_${id}` },
    });
    // M is the size the email forms sell out; L lasts longer.
    wa.push({ id, phone, size: i % 2 === 0 ? 'M' : 'L', walked: 0, answers: [] });
  }
  return { forms, customers, wa };
}

/** Resolves with `pick()` once it is defined, re-checked as each message reaches the fake Twilio; undefined after `withinMs`. */
async function whenSent<T>(fake: FakeTwilio, pick: () => T | undefined, withinMs: number): Promise<T | undefined> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const found = pick();
    if (found !== undefined) return found;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    await fake.waitForSent(fake.sent.length + 1, left).catch(() => undefined);
  }
}

const to = (phone: string) => `whatsapp:${phone}`;
const sentTo = (fake: FakeTwilio, phone: string) => fake.sent.filter((m) => m.To === to(phone));

/** A webhook as Twilio posts it: form-encoded, signed over PUBLIC_BASE_URL + path + every parameter. */
function postWebhook(service: ServiceProcess, fake: FakeTwilio, params: Record<string, string>): Promise<HttpAnswer> {
  const signature = twilio.getExpectedTwilioSignature(fake.authToken, `${PUBLIC_BASE_URL}/whatsapp/v1/inbound`, params);
  return service.post('/whatsapp/v1/inbound', { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, new URLSearchParams(params).toString());
}

function inbound(fake: FakeTwilio, phone: string, tapId: string): Record<string, string> {
  return { MessageSid: messageSid(), AccountSid: fake.accountSid, From: to(phone), To: WA_FROM, Body: 'tapped', ButtonPayload: tapId, MessageType: 'interactive', NumMedia: '0', WaId: phone.slice(1), SmsStatus: 'received', ApiVersion: '2010-04-01' };
}

/**
 * One customer from a back-in-stock message to the confirm step, tapping the buttons the fake
 * Twilio received: "Buy now" → size → quantity 1 → the "Yes" to tap later.
 */
async function walkToConfirm(service: ServiceProcess, fake: FakeTwilio, c: WaCustomer, sids: string[]): Promise<void> {
  const profile = { id: c.id, firstName: c.id, phone: c.phone, consent: { whatsapp: true }, whatsapp: { lastInboundAt: new Date().toISOString() } };
  const render = await service.post(
    '/v1/render',
    { 'content-type': 'application/json' },
    JSON.stringify({ template: 'back-in-stock', profile, recommendations: { items: [{ sku: 'CR-TEE' }] }, channels: ['whatsapp'], context: { messageId: `crash-wa-msg-${c.id}` } }),
  );
  if (render.status !== 200) throw new Error(`render for ${c.id}: ${render.status} ${render.body}`);
  let tap = (JSON.parse(render.body) as { whatsapp: { preview: { buttons: { id: string }[] } } }).whatsapp.preview.buttons[0]!.id;
  const steps: ((m: SentMessage) => string)[] = [
    (m) => choiceIds(m, 'quick-reply')[choiceTitles(m, 'quick-reply').indexOf(c.size)]!,
    (m) => choiceIds(m, 'quick-reply')[choiceTitles(m, 'quick-reply').indexOf('1')]!,
    (m) => choiceIds(m, 'quick-reply')[choiceTitles(m, 'quick-reply').indexOf('Yes')]!,
  ];
  for (const [n, next] of steps.entries()) {
    const params = inbound(fake, c.phone, tap);
    sids.push(params.MessageSid!);
    const res = await postWebhook(service, fake, params);
    if (res.status !== 200) throw new Error(`webhook for ${c.id}: ${res.status} ${res.body}`);
    const message = await whenSent(fake, () => sentTo(fake, c.phone)[n], 15_000);
    if (!message) throw new Error(`${c.id} got no reply to step ${n + 1} of the walk (is TWILIO_API_BASE_URL honoured?): ${JSON.stringify(sentTo(fake, c.phone))}`);
    tap = next(message);
    if (!tap) throw new Error(`${c.id}: no button for step ${n + 2} in ${JSON.stringify(message.ContentVariables)}`);
  }
  const confirm = sentTo(fake, c.phone).at(-1)!;
  if (!confirm.ContentVariables?.['1']?.includes(`1 × Crash Tee, size ${c.size}`)) throw new Error(`${c.id} is not at the confirm step: ${JSON.stringify(confirm.ContentVariables)}`);
  c.walked = sentTo(fake, c.phone).length;
  c.yes = inbound(fake, c.phone, tap);
  sids.push(c.yes.MessageSid!);
}

const AMP_HEADERS = { 'content-type': 'application/x-www-form-urlencoded', 'amp-email-sender': SENDER };

function toReply(phase: Reply['phase'], answer: HttpAnswer): Reply {
  let body: { orderId?: string; orderNumber?: string; error?: { code?: string } } = {};
  try {
    body = JSON.parse(answer.body) as typeof body;
  } catch {
    // Not JSON: kept as the status alone, which the assertions name.
  }
  return { phase, status: answer.status, ...(body.error?.code ? { code: body.error.code } : {}), ...(body.orderId ? { orderId: body.orderId, orderNumber: body.orderNumber } : {}) };
}

/**
 * A message as the customer reads it, so two copies of one message compare equal: an order
 * confirmation by its order number (its text is rendered when it is sent), anything else by
 * recipient and content.
 */
function identity(m: { to: string; body?: string; contentSid?: string; contentVariables?: unknown }): string {
  const variables = typeof m.contentVariables === 'string' ? (JSON.parse(m.contentVariables) as unknown) : (m.contentVariables ?? {});
  const text = `${m.body ?? ''} ${JSON.stringify(variables)}`;
  const number = /is confirmed/.test(text) ? /IC-[0-9A-Z]{8}/.exec(text)?.[0] : undefined;
  return number ? `confirm:${number}` : `${m.to}|${m.contentSid ?? ''}|${m.body ?? ''}|${JSON.stringify(variables)}`;
}
const sentIdentity = (m: SentMessage) => identity({ to: m.To, body: m.Body, contentSid: m.ContentSid, contentVariables: m.ContentVariables });

/**
 * Sends every form (a fifth twice) and every "Yes" at once, in a seeded order, and SIGKILLs the
 * service when `killAfter` answers are back, with the rest in flight. `resubmit` then sends
 * every submission that got no answer to the restarted service, as the customer's mail client
 * or Twilio would: the same form, the same webhook with the same MessageSid and signature.
 */
async function checkoutsUntilKilled(service: ServiceProcess, fake: FakeTwilio, forms: Form[], wa: WaCustomer[], random: (n: number) => number) {
  const formAnswers = new Map<string, Reply[]>(forms.map((f) => [f.key, []]));
  const unanswered: ((restarted: ServiceProcess) => Promise<void>)[] = [];
  const calls = [...forms.flatMap((f) => (f.double === 'together' ? [f, f] : [f])).map((form) => ({ form })), ...wa.map((customer) => ({ customer }))];
  for (let i = calls.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [calls[i], calls[j]] = [calls[j]!, calls[i]!];
  }
  const killAfter = Math.floor(calls.length * (0.25 + random(50) / 100));
  let answered = 0;
  let settled = 0;
  let inFlightAtKill = 0;
  let killed: Promise<void> | undefined;
  const kill = () => {
    if (killed) return;
    inFlightAtKill = calls.length - settled;
    killed = service.kill();
  };
  const counted = (answer: HttpAnswer) => {
    if (++answered === killAfter) kill();
    return answer;
  };
  const submit = (f: Form, to: ServiceProcess, phase: Reply['phase']): Promise<boolean> =>
    to.post(f.query, AMP_HEADERS, f.body).then(
      (a) => (formAnswers.get(f.key)!.push(toReply(phase, phase === 'before' ? counted(a) : a)), true),
      () => false,
    );
  const later = (f: Form) =>
    unanswered.push(async (restarted) => {
      if (!(await submit(f, restarted, 'after'))) formAnswers.get(f.key)!.push({ phase: 'after', status: 0 });
    });

  await Promise.all(
    calls.map(async (call) => {
      if ('form' in call) {
        const f = call.form;
        const ok = await submit(f, service, 'before');
        settled++;
        if (!ok) later(f);
        // The second click of a customer who saw the first answer (or saw nothing).
        if (f.double === 'after' && (killed || !(await submit(f, service, 'before')))) later(f);
        return;
      }
      const c = call.customer;
      const ok = await postWebhook(service, fake, c.yes!).then(
        (a) => (c.answers.push(toReply('before', counted(a))), true),
        () => false,
      );
      settled++;
      if (!ok) {
        unanswered.push(async (restarted) => {
          const retry = await postWebhook(restarted, fake, c.yes!).catch(() => ({ status: 0, body: '' }));
          c.answers.push(toReply('after', retry));
        });
      }
    }),
  );
  // Every call settled before the count was reached (some got no answer at all): kill it now.
  kill();
  await killed;
  return {
    formAnswers,
    killAfter,
    inFlightAtKill,
    resubmit: (restarted: ServiceProcess) => Promise.all(unanswered.map((send) => send(restarted))),
  };
}

/**
 * The replies the killed process left queued, as the customer would read them: all must go out
 * after the restart. Those it had claimed it may already have handed to Twilio without marking
 * them sent: for those alone a second copy is the documented at-least-once (README, "Delivery
 * is at least once"). Order confirmations for customers without WhatsApp consent are never sent.
 */
async function leftQueued(store: Store): Promise<{ all: Set<string>; claimed: Set<string> }> {
  const rows = await store.db.selectFrom('whatsapp_replies').selectAll().where('status', '=', 'queued').execute();
  const all = new Set<string>();
  const claimed = new Set<string>();
  for (const row of rows) {
    const meta = JSON.parse(row.meta) as { kind?: string; orderId?: string };
    let id: string;
    if (meta.kind === 'order_confirmation') {
      const order = meta.orderId ? await store.orders.get(meta.orderId) : undefined;
      const customer = order && (await store.customers.get(order.customerId));
      if (!order || (customer?.profile as { consent?: { whatsapp?: boolean } }).consent?.whatsapp !== true) continue;
      id = `confirm:${order.number}`;
    } else {
      id = identity(JSON.parse(row.message) as Parameters<typeof identity>[0]);
    }
    all.add(id);
    if (row.claimed_until !== null) claimed.add(id);
  }
  return { all, claimed };
}

/** At most `n` examples, for failure messages that stay readable. */
const some = <T>(list: T[], n = 5) => JSON.stringify(list.slice(0, n)) + (list.length > n ? ` …and ${list.length - n} more` : '');

describe('kill -9 during checkouts, restart, resubmit (crash test)', () => {
  it.concurrent.for(BACKENDS)(
    'on %s: every acknowledged order exists once, every resubmission gets its order, no webhook turn is lost or doubled, every confirmation goes once, stock is exact',
    { timeout: 150_000 },
    async (backend, { expect }) => {
      const random = seededRandom(SEED + (backend === 'postgres' ? 1 : 0));
      const { forms, customers, wa } = scenario(random);
      const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-crash-'));
      const pgSchema = backend === 'postgres' ? `t_crash_${randomBytes(6).toString('hex')}` : undefined;
      const storeOptions: OpenStoreOptions = pgSchema ? { databaseUrl: PG_URL, pgSchema } : { dataDir };
      const fake = await startFakeTwilio();
      const services: ServiceProcess[] = [];
      try {
        // The database as the service will find it: migrated, catalog and customers in, the
        // WhatsApp session shapes synced (so buttons carry ids, as in production).
        const seed = await openStore(storeOptions);
        try {
          await seed.products.upsertMany(PRODUCTS);
          for (const c of customers) await seed.customers.upsert(c);
          const twilioConfig = testConfig(dataDir, { TWILIO_ACCOUNT_SID: fake.accountSid, TWILIO_AUTH_TOKEN: fake.authToken });
          await syncContent(createTwilioClient(twilioConfig, { httpClient: fake.httpClient }), seed.whatsappContents, sessionDefinitions());
        } finally {
          await seed.close();
        }
        const env = serviceEnv(
          { dataDir, ...(pgSchema ? { pgSchema } : {}), tokenSecrets: TOKEN_SECRETS, publicBaseUrl: PUBLIC_BASE_URL, ampSender: SENDER, fake, whatsappFrom: WA_FROM },
          { WHATSAPP_REPLY_LEASE_SECONDS: String(REPLY_LEASE_S), WHATSAPP_REPLY_RECOVERY_SECONDS: '1' },
        );
        const port = await freePort();
        const first = await startServiceProcess(env, port);
        services.push(first);

        // 1. The WhatsApp customers walk to the confirm step.
        const inboundSids: string[] = [];
        await Promise.all(wa.map((c) => walkToConfirm(first, fake, c, inboundSids)));

        // 2. Checkouts and "Yes" taps at once; SIGKILL once some of them were answered.
        const traffic = await checkoutsUntilKilled(first, fake, forms, wa, random);
        const { formAnswers, killAfter, inFlightAtKill } = traffic;

        // What the dead process was sending when it died.
        const dead = await openStore(storeOptions);
        const left = await leftQueued(dead).finally(() => dead.close());

        // 3. Restart on the same database; resubmit and retry everything unanswered, at once.
        const second = await startServiceProcess(env, port);
        services.push(second);
        const restartedAt = fake.sent.length;
        await traffic.resubmit(second);

        // 4. Wait for the confirmations and replies the orders call for, then stop the service gracefully.
        const ordersNow = await readOrders(storeOptions, customers);
        const consented = new Set(forms.filter((f) => f.whatsapp).map((f) => f.customerId));
        const expected = [
          ...ordersNow.filter((o) => o.channel === 'email' && consented.has(o.customerId)).map((o) => `confirm:${o.number}`),
          ...ordersNow.filter((o) => o.channel === 'whatsapp').map((o) => `confirm:${o.number}`),
        ];
        await whenSent(fake, () => {
          const seen = new Set(fake.sent.map(sentIdentity));
          const resent = new Set(fake.sent.slice(restartedAt).map(sentIdentity));
          const waDone = wa.every((c) => sentTo(fake, c.phone).length > c.walked);
          return waDone && expected.every((e) => seen.has(e)) && [...left.all].every((e) => resent.has(e)) ? true : undefined;
        }, DRAIN_WITHIN_MS);
        const exitCode = await second.stop();

        // 5. The final state, read after the service stopped.
        const store = await openStore(storeOptions);
        let finalOrders: Order[];
        let stock: Map<string, number>;
        let events: { key: string; status: string }[];
        let queued: number;
        try {
          finalOrders = await readOrdersFrom(store, customers);
          stock = new Map((await store.products.getMany(PRODUCTS.map((p) => p.sku))).flatMap((p) => p.sizes.map((s) => [slotKey(p.sku, s.size), s.stock] as const)));
          events = await store.db.selectFrom('processed_events').select(['key', 'status']).where('kind', '=', 'whatsapp.inbound').execute();
          queued = (await store.whatsappReplies.queued()).length;
        } finally {
          await store.close();
        }
        const sent = fake.sent.map((m, i) => ({ id: sentIdentity(m), to: m.To, generation: i < restartedAt ? 0 : 1 }));

        const byKey = new Map(finalOrders.filter((o) => o.channel === 'email').map((o) => [o.idempotencyKey, o]));
        expect.soft(finalOrders.length - new Set(finalOrders.map((o) => o.idempotencyKey)).size, 'orders sharing an idempotency key').toBe(0);
        const replies = [...formAnswers.values()].flat();
        const summary = {
          backend,
          seed: SEED,
          killAfter,
          inFlightAtKill,
          resubmitted: replies.filter((r) => r.phase === 'after').length,
          webhooksRetried: wa.filter((c) => c.answers.some((a) => a.phase === 'after')).length,
          orders: finalOrders.length,
          messages: sent.length,
          exitCode,
        };
        console.log(`crash test ${JSON.stringify(summary)}`);
        expect.soft(exitCode, `the restarted service stops cleanly: ${second.stderr()}`).toBe(0);

        // Every submission got an answer in the end, and only the answers a checkout has.
        const unknown = replies.filter((r) => !(r.status === 200 && r.orderNumber) && !(r.status === 409 && r.code === 'out_of_stock'));
        expect.soft(unknown, `answers other than an order or 409 out_of_stock (status 0 = no answer even after the restart): ${some(unknown)}`).toEqual([]);

        // The same form always gets the same answer: its order, once it exists.
        const split: string[] = [];
        const refusedWithOrder: string[] = [];
        const lostAcks: string[] = [];
        const otherLines: string[] = [];
        const byNumber = new Map(finalOrders.map((o) => [o.number, o]));
        const unreturned: string[] = [];
        const falseSellout: { lines: RequestedLine[] }[] = [];
        for (const f of forms) {
          const answers = formAnswers.get(f.key)!;
          const stored = byKey.get(f.key);
          const numbers = new Set(answers.flatMap((a) => (a.orderNumber ? [a.orderNumber] : [])));
          if (numbers.size > 1) split.push(`${f.key}: ${[...numbers].join(', ')}`);
          for (const n of numbers) {
            const acknowledged = byNumber.get(n);
            if (!acknowledged) lostAcks.push(`${f.customerId}: acknowledged ${n}, not stored`);
            else if (acknowledged.customerId !== f.customerId || lineList(acknowledged.lines) !== lineList(f.lines)) {
              otherLines.push(`${f.customerId} ${f.kind}${f.double ? ` (double, ${f.double})` : ''}: asked ${lineList(f.lines)}, got ${n} with ${lineList(acknowledged.lines)}; answers ${answers.map((a) => `${a.phase}:${a.orderNumber ?? a.code}`).join(', ')}`);
            }
          }
          if (stored && answers.some((a) => a.code === 'out_of_stock')) refusedWithOrder.push(`${f.customerId} ${f.kind}: order ${stored.number}, answers ${answers.map((a) => `${a.phase}:${a.orderNumber ?? a.code}`).join(', ')}`);
          if (stored && numbers.size === 0) unreturned.push(`${f.customerId}: ${stored.number}`);
          // Stock only goes down: a size refused as sold out must be short at the end too.
          if (!stored && answers.some((a) => a.code === 'out_of_stock') && f.lines.every((l) => (stock.get(slotKey(l.sku, l.size)) ?? 0) >= l.quantity)) falseSellout.push({ lines: f.lines });
        }
        expect.soft(split, 'one form, two different orders').toEqual([]);
        expect.soft(lostAcks, 'every acknowledged order exists').toEqual([]);
        expect.soft(otherLines, 'an acknowledged order holds what its form asked for').toEqual([]);
        expect.soft(refusedWithOrder.length, `submissions of a form whose order exists answered 409 out_of_stock (the same key must get the same answer): ${some(refusedWithOrder, 3)}`).toBe(0);
        expect.soft(unreturned, 'orders whose form never got them back, though every unanswered submission was resubmitted').toEqual([]);
        expect.soft(falseSellout, 'forms refused as sold out while their sizes still have the stock').toEqual([]);
        const emailOrders = finalOrders.filter((o) => o.channel === 'email');
        const formKeys = new Set(forms.map((f) => f.key));
        const unasked = emailOrders.filter((o) => !formKeys.has(o.idempotencyKey)).map((o) => `${o.number} ${o.customerId} ${lineList(o.lines)}`);
        expect.soft(unasked, 'email orders whose lines no form asked for').toEqual([]);

        // Stock is exact: what is left is what there was minus what the orders took, never below 0.
        const taken = new Map<string, number>();
        for (const o of finalOrders) for (const l of o.lines) taken.set(slotKey(l.sku, l.size), (taken.get(slotKey(l.sku, l.size)) ?? 0) + l.quantity);
        const stockNow = Object.fromEntries([...INITIAL_STOCK.keys()].map((k) => [k, stock.get(k)]));
        const stockExpected = Object.fromEntries([...INITIAL_STOCK].map(([k, initial]) => [k, initial - (taken.get(k) ?? 0)]));
        expect.soft(stockNow, 'stock per size = initial − ordered').toEqual(stockExpected);
        expect.soft(Object.values(stockNow).filter((n) => n === undefined || n < 0), 'no size below 0').toEqual([]);

        // No webhook turn is lost: every inbound message the service got was handled to the end.
        const sids = new Set(inboundSids.map((s) => `twilio:inbound:${s}`));
        const pending = events.filter((e) => sids.has(e.key) && e.status !== 'completed');
        const missing = [...sids].filter((k) => !events.some((e) => e.key === k));
        expect.soft(pending.length, `inbound messages left claimed but never handled (a retry within the lease was answered 200 and dropped): ${some(pending)}`).toBe(0);
        expect.soft(missing, 'inbound messages with no record at all').toEqual([]);
        const retryStatus = wa.flatMap((c) => c.answers.filter((a) => a.status !== 200).map((a) => `${c.id}: ${a.phase} ${a.status}`));
        expect.soft(retryStatus, 'every webhook delivery (first or retried) is answered 200').toEqual([]);

        // Each "Yes" gets exactly one answer: the order's confirmation, or (size gone) the sold-out question.
        const waProblems: string[] = [];
        for (const c of wa) {
          const orders = finalOrders.filter((o) => o.customerId === c.id);
          const after = [...new Set(sent.filter((m) => m.to === to(c.phone)).map((m) => m.id))].slice(c.walked);
          if (orders.length > 1) waProblems.push(`${c.id}: ${orders.length} orders`);
          const order = orders[0];
          const webhook = c.answers.map((a) => `${a.phase} ${a.status}`).join(', ') || 'no answer';
          if (order && after.join() !== `confirm:${order.number}`) {
            waProblems.push(`${c.id} (webhook: ${webhook}): order ${order.number}, then ${after.length ? after.map((a) => (a.startsWith('confirm:') ? a : 'a question')).join(' + ') : 'no reply'}`);
          }
          if (!order && (after.length !== 1 || after[0]!.startsWith('confirm:') || (stock.get(slotKey('CR-TEE', c.size)) ?? 0) > 0)) {
            waProblems.push(`${c.id} (webhook: ${webhook}): no order, ${after.length} replies, ${c.size} stock left ${stock.get(slotKey('CR-TEE', c.size))}`);
          }
        }
        expect.soft(waProblems, 'WhatsApp customers who tapped Yes: one order and one confirmation each, or told the size is gone').toEqual([]);

        // Every email order of a customer with WhatsApp consent is confirmed there.
        const seen = new Set(sent.map((m) => m.id));
        const unconfirmed = emailOrders.filter((o) => consented.has(o.customerId) && !seen.has(`confirm:${o.number}`)).map((o) => o.number);
        const withoutConsent = emailOrders.filter((o) => !consented.has(o.customerId) && seen.has(`confirm:${o.number}`)).map((o) => o.number);
        expect.soft(unconfirmed.length, `email orders (of ${emailOrders.filter((o) => consented.has(o.customerId)).length} with WhatsApp consent) never confirmed on WhatsApp: ${some(unconfirmed)}`).toBe(0);
        expect.soft(withoutConsent, 'confirmed on WhatsApp without consent').toEqual([]);

        // Delivered once. Twilio has no idempotency key: a reply the killed process had handed to
        // Twilio but not yet marked sent goes again after the restart (README, "Delivery is at
        // least once") — that copy, and only that one, is allowed.
        const copies = new Map<string, number[]>();
        for (const m of sent) (copies.get(m.id) ?? copies.set(m.id, [0, 0]).get(m.id)!)[m.generation]!++;
        const doubled = [...copies].filter(([id, [before, after]]) => before! > 1 || after! > 1 || (before! > 0 && after! > 0 && !left.claimed.has(id))).map(([id, n]) => `${id.slice(0, 60)} ×${n.join('+')}`);
        expect.soft(doubled, 'messages delivered twice').toEqual([]);
        expect.soft(queued, 'replies still queued after the restarted service drained and stopped').toBe(0);
      } finally {
        for (const s of services) await s.kill().catch(() => undefined);
        await fake.close();
        removeDir(dataDir);
        if (pgSchema) await dropPgSchema(pgSchema);
      }
    },
  );
});

/** Order or form lines in one comparable string. */
function lineList(lines: readonly { sku: string; size: string; quantity: number }[]): string {
  return lines
    .map((l) => `${l.quantity}×${l.sku}/${l.size}`)
    .sort()
    .join(' + ');
}


async function readOrders(options: OpenStoreOptions, customers: Customer[]): Promise<Order[]> {
  const store = await openStore(options);
  try {
    return await readOrdersFrom(store, customers);
  } finally {
    await store.close();
  }
}

async function readOrdersFrom(store: Store, customers: Customer[]): Promise<Order[]> {
  return (await Promise.all(customers.map((c) => store.orders.listByCustomer(c.id)))).flat();
}
