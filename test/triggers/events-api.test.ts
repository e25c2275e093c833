import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customerEventQueries, EVENTS_PER_CUSTOMER } from '../../src/triggers/customer-events.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { DAY, openTriggerApp, type TriggerApp } from './helpers.ts';

const clock = createManualClock(NOW);
let t: TriggerApp;

beforeAll(async () => {
  t = await openTriggerApp('sqlite', clock, { JSON_BODY_LIMIT: '32kb' });
});
afterAll(async () => {
  await t.destroy();
});

const viewed = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'product_viewed', customerId: 'ev-c1', sku: 'NL-TOP-001', size: 'M', occurredAt: '2026-11-20T09:00:00Z', ...extra });
const stored = () => t.store.db.selectFrom('customer_events' as never).selectAll().where('customer_id' as never, '=', 'ev-c1' as never).execute();

describe('POST /v1/events', () => {
  it('stores one event, and the same event id again is one row with the same answer', async () => {
    const first = await request(t.app).post('/v1/events').send(viewed('e-1'));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ accepted: 1, events: [{ id: 'e-1', type: 'product_viewed', customerId: 'ev-c1' }] });
    const again = await request(t.app).post('/v1/events').send(viewed('e-1'));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await stored()).toHaveLength(1);
    // Another event under a used id is refused, and nothing of the request is stored.
    const reused = await request(t.app).post('/v1/events').send([viewed('e-2'), viewed('e-1', { sku: 'NL-TOP-002' })]);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('event_id_reused');
    expect(reused.body.error.message).toContain('e-1');
    expect(await stored()).toHaveLength(1);
  });

  it('takes NDJSON, one event a line, and names the line and field of a bad one', async () => {
    const lines = [
      viewed('n-1'),
      { id: 'n-2', type: 'cart_updated', customerId: 'ev-c1', occurredAt: '2026-11-20T10:00:00Z', items: [{ sku: 'NL-TOP-001', size: 'M', quantity: 2 }] },
      { id: 'n-3', type: 'back_in_stock_requested', customerId: 'ev-c1', sku: 'NL-TOP-002', occurredAt: '2026-11-20T11:00:00Z' },
    ];
    const send = (body: unknown[]) =>
      request(t.app)
        .post('/v1/events')
        .set('content-type', 'application/x-ndjson')
        .send(body.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const bad = await send(lines);
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual([{ path: 'lines.3.size', message: expect.any(String) }]);
    const ok = await send([...lines.slice(0, 2), { ...lines[2], size: 'S' }]);
    expect(ok.status).toBe(200);
    expect(ok.body.accepted).toBe(3);
    const kept = await customerEventQueries(t.store.db).ofCustomer('ev-c1');
    expect(kept.map((e) => [e.type, e.sku, e.size])).toEqual([
      ['back_in_stock_requested', 'NL-TOP-002', 'S'],
      ['cart_updated', undefined, undefined],
      ['product_viewed', 'NL-TOP-001', 'M'],
      ['product_viewed', 'NL-TOP-001', 'M'],
    ]);
  });

  it('answers 400 naming each wrong field of a JSON array, and an unknown type', async () => {
    const res = await request(t.app)
      .post('/v1/events')
      .send([viewed('j-1', { occurredAt: 'yesterday' }), { id: 'j-2', type: 'page_liked', customerId: 'x', occurredAt: NOW }, viewed('j 3')]);
    expect(res.status).toBe(400);
    expect(res.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['0.occurredAt', '1.type', '2.id']);
  });

  it('refuses a body over the size limit with 413', async () => {
    const big = Array.from({ length: 400 }, (_, i) => viewed(`big-${i}`));
    const json = await request(t.app).post('/v1/events').send(big);
    expect(json.status).toBe(413);
    const ndjson = await request(t.app).post('/v1/events').set('content-type', 'application/x-ndjson').send(big.map((l) => JSON.stringify(l)).join('\n'));
    expect(ndjson.status).toBe(413);
  });

  it(`keeps the newest ${EVENTS_PER_CUSTOMER} events of a customer`, async () => {
    const base = Date.parse(NOW) - 30 * DAY;
    for (let page = 0; page < 6; page++) {
      const events = Array.from({ length: 100 }, (_, i) => ({ id: `h-${page}-${i}`, type: 'product_viewed', customerId: 'ev-busy', sku: 'NL-TOP-001', occurredAt: new Date(base + (page * 100 + i) * 60_000).toISOString() }));
      await request(t.app).post('/v1/events').send(events).expect(200);
    }
    const kept = await customerEventQueries(t.store.db).ofCustomer('ev-busy', 1000);
    expect(kept).toHaveLength(EVENTS_PER_CUSTOMER);
    expect(kept.at(-1)!.occurredAt).toBe(new Date(base + 100 * 60_000).toISOString());
  });
});
