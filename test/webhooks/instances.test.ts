import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../src/channels/webhooks/webhook-dispatcher.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { BACKENDS, createBackend, uid } from '../store/backends.ts';
import { createManualSchedule, type ManualSchedule } from '../support/manual-schedule.ts';
import { testClock } from '../support/test-clock.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const SECRET = 'whsec_test_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d';
const silent = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * Several instances on one database share the outbox: each event reaches a receiver once, an
 * order's events in order, and a delivery whose instance died mid-request (its lease run out) is
 * taken over by another.
 */
describe.each(BACKENDS)('two instances on one database (%s)', (backend) => {
  const db = createBackend(backend);
  let receiver: WebhookReceiver;
  const instances: { store: Store; dispatcher: WebhookDispatcher; wake: ManualSchedule; timeout: ManualSchedule }[] = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: SECRET, now: testClock.now });
    for (let i = 0; i < 2; i++) {
      const store = await openStore({ ...db.options, webhookUrls: [receiver.url] });
      const wake = createManualSchedule();
      const timeout = createManualSchedule();
      const dispatcher = createWebhookDispatcher({ webhooks: store.webhooks, secret: SECRET, timeoutMs: 5_000, leaseMs: 60_000, logger: silent, now: testClock.now, userAgent: 'test', schedule: wake.schedule, scheduleTimeout: timeout.schedule });
      instances.push({ store, dispatcher, wake, timeout });
    }
  });
  afterAll(async () => {
    for (const i of instances) {
      i.dispatcher.close();
      i.timeout.runPending();
      await i.dispatcher.idle();
      await i.store.close();
    }
    await receiver?.close();
    await db.destroy();
  });

  const both = () => Promise.all(instances.map((i) => i.dispatcher.idle()));

  it('each event is delivered once, and each order\'s events in the order they were written', async () => {
    receiver.respond = () => 200;
    const [a, b] = instances;
    // Written with the dispatchers not listening yet: both then compete for the same backlog.
    const orders = Array.from({ length: 12 }, () => uid('order'));
    const written: { id: string; orderId: string }[] = [];
    a!.dispatcher.close();
    b!.dispatcher.close();
    for (const [n, orderId] of orders.entries()) {
      const store = (n % 2 ? a : b)!.store;
      for (const type of ['order.created', 'order.status_changed', 'order.status_changed'] as const) {
        const event = await store.transaction((tx) => tx.webhooks.record({ type, data: { n, orderId }, customerId: 'cust-x', orderId }));
        written.push({ id: event.id, orderId });
      }
    }
    const fresh = instances.map((i) =>
      createWebhookDispatcher({ webhooks: i.store.webhooks, secret: SECRET, timeoutMs: 5_000, logger: silent, now: testClock.now, userAgent: 'test', schedule: createManualSchedule().schedule, scheduleTimeout: i.timeout.schedule }),
    );
    for (let round = 0; round < 5; round++) await Promise.all(fresh.flatMap((d) => [d.run(), d.run()]));
    await Promise.all(fresh.map((d) => d.idle()));
    for (const d of fresh) d.close();

    const got = receiver.requests.filter((r) => orders.includes(r.body.data.orderId as string));
    expect(got.every((r) => r.verified && r.answer === 200)).toBe(true);
    expect(got.map((r) => r.id).sort()).toEqual(written.map((w) => w.id).sort());
    for (const orderId of orders) {
      expect(got.filter((r) => r.body.data.orderId === orderId).map((r) => r.id)).toEqual(written.filter((w) => w.orderId === orderId).map((w) => w.id));
    }
    const states = await a!.store.db.selectFrom('webhook_deliveries').select(['state', 'attempts']).execute();
    expect(new Set(states.map((s) => `${s.state}/${s.attempts}`))).toEqual(new Set(['delivered/1']));
  });

  it('a delivery whose instance hangs past its lease is taken over by the other, whose outcome counts', async () => {
    // New dispatchers with a short lease, the previous test's closed ones aside.
    const [a, b] = instances.map((i) => ({
      ...i,
      dispatcher: createWebhookDispatcher({ webhooks: i.store.webhooks, secret: SECRET, timeoutMs: 5_000, leaseMs: 10_000, logger: silent, now: testClock.now, userAgent: 'test', schedule: i.wake.schedule, scheduleTimeout: i.timeout.schedule }),
    }));
    instances.splice(0, 2, a!, b!);
    receiver.respond = (r) => (r.attempt === 1 ? 'hang' : 200);
    const orderId = uid('order');
    // Instance a writes the event and starts sending it; the receiver holds the request.
    const event = await a!.store.transaction((tx) => tx.webhooks.record({ type: 'order.created', data: { orderId }, customerId: 'cust-y', orderId }));
    await receiver.waitFor(() => receiver.requests.some((r) => r.id === event.id), 'the first attempt');
    await b!.dispatcher.run();
    expect(receiver.requests.filter((r) => r.id === event.id)).toHaveLength(1);

    testClock.advance(10_001);
    await b!.dispatcher.run();
    await b!.dispatcher.idle();
    const attempts = receiver.requests.filter((r) => r.id === event.id);
    expect(attempts.map((r) => [r.answer, r.verified])).toEqual([
      ['hang', true],
      [200, true],
    ]);
    // a's request now times out; its failure must not undo b's delivery.
    expect(a!.timeout.runPending()).toBe(1);
    await both();
    const [delivery] = (await a!.store.webhooks.deliveries({ eventId: event.id, limit: 5 })).map((d) => d.delivery);
    expect(delivery).toMatchObject({ state: 'delivered', attempts: 1, lastStatus: 200 });
  });
});
