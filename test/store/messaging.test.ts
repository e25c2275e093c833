import { describe, expect, it } from 'vitest';
import type { ConversationInput } from '../../src/store/conversations-repository.ts';
import { BACKENDS, uid, useStore } from './backends.ts';

describe.each(BACKENDS)('WhatsApp conversations on %s', (backendName) => {
  const { store } = useStore(backendName);

  function conversation(customerId: string, overrides: Partial<ConversationInput> = {}): ConversationInput {
    return {
      customerId,
      phone: '+46701234567',
      state: { offer: 'spring', sku: 'SHIRT', size: null, quantity: 1, tried: ['M', 'L'] },
      step: 'choose_size',
      locale: 'sv',
      updatedAt: '2025-05-01T10:00:00.000Z',
      expiresAt: '2025-05-02T10:00:00.000Z',
      ...overrides,
    };
  }

  it('creates with version 0 and round-trips exactly', async () => {
    const conv = conversation(uid('cust'));
    expect(await store().conversations.save(conv, 0)).toBe(true);
    expect(await store().conversations.get(conv.customerId)).toStrictEqual({ ...conv, version: 1 });
    expect(await store().conversations.get('nobody')).toBeUndefined();
  });

  it('a save against a stale version returns false and changes nothing', async () => {
    const customerId = uid('cust');
    expect(await store().conversations.save(conversation(customerId), 0)).toBe(true);
    // Two webhooks read version 1 and both try to move on.
    expect(await store().conversations.save(conversation(customerId, { step: 'choose_quantity' }), 1)).toBe(true);
    expect(await store().conversations.save(conversation(customerId, { step: 'confirm' }), 1)).toBe(false);
    // Creating again when one exists is a conflict too.
    expect(await store().conversations.save(conversation(customerId, { step: 'offer' }), 0)).toBe(false);
    const stored = await store().conversations.get(customerId);
    expect(stored).toMatchObject({ step: 'choose_quantity', version: 2 });
  });

  it('of many concurrent saves on one version exactly one wins', async () => {
    const customerId = uid('cust');
    await store().conversations.save(conversation(customerId), 0);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => store().conversations.save(conversation(customerId, { step: `s${i}` }), 1)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store().conversations.get(customerId))?.version).toBe(2);
  });

  it('deleteExpired removes only conversations expired before now', async () => {
    const old = uid('old');
    const live = uid('live');
    await store().conversations.save(conversation(old, { expiresAt: '2000-01-01T00:00:00.000Z' }), 0);
    await store().conversations.save(conversation(live, { expiresAt: '2999-01-01T00:00:00.000Z' }), 0);
    expect(await store().conversations.deleteExpired(new Date('2025-01-01T00:00:00Z'))).toBeGreaterThanOrEqual(1);
    expect(await store().conversations.get(old)).toBeUndefined();
    expect(await store().conversations.get(live)).toBeDefined();
    await store().conversations.delete(live);
    expect(await store().conversations.get(live)).toBeUndefined();
  });
});

describe.each(BACKENDS)('WhatsApp message statuses on %s', (backendName) => {
  const { store } = useStore(backendName);

  it('records an outbound message in full', async () => {
    const sid = uid('SM');
    await store().messages.recordOutbound({
      sid,
      customerId: 'cust-1',
      to: 'whatsapp:+46701234567',
      kind: 'template',
      template: 'order_confirmation',
      status: 'queued',
    });
    expect(await store().messages.get(sid)).toMatchObject({
      sid,
      customerId: 'cust-1',
      to: 'whatsapp:+46701234567',
      kind: 'template',
      template: 'order_confirmation',
      status: 'queued',
    });
    expect(await store().messages.get('SMnone')).toBeUndefined();
  });

  it('never downgrades: late sent/delivered callbacks after read are ignored', async () => {
    const sid = uid('SM');
    await store().messages.recordOutbound({ sid, to: '+46701234567', kind: 'session', status: 'queued' });
    expect(await store().messages.updateStatus(sid, 'delivered', undefined, '2025-05-01T10:00:02Z')).toBe(true);
    expect(await store().messages.updateStatus(sid, 'sent', undefined, '2025-05-01T10:00:01Z')).toBe(false);
    expect(await store().messages.updateStatus(sid, 'read', undefined, '2025-05-01T10:05:00Z')).toBe(true);
    expect(await store().messages.updateStatus(sid, 'delivered', undefined, '2025-05-01T10:06:00Z')).toBe(false);
    expect(await store().messages.updateStatus(sid, 'read', undefined, '2025-05-01T10:07:00Z')).toBe(false);
    expect(await store().messages.get(sid)).toMatchObject({ status: 'read', statusAt: '2025-05-01T10:05:00.000Z' });
  });

  it('records failures with their error code; they are final', async () => {
    const sid = uid('SM');
    await store().messages.recordOutbound({ sid, to: '+46701234567', kind: 'session', status: 'queued' });
    await store().messages.updateStatus(sid, 'sent', undefined, '2025-05-01T10:00:01Z');
    expect(await store().messages.updateStatus(sid, 'undelivered', '63016', '2025-05-01T10:00:03Z')).toBe(true);
    expect(await store().messages.updateStatus(sid, 'delivered', undefined, '2025-05-01T10:00:04Z')).toBe(false);
    expect(await store().messages.updateStatus(sid, 'failed', '30008', '2025-05-01T10:00:05Z')).toBe(false);
    expect(await store().messages.get(sid)).toMatchObject({ status: 'undelivered', errorCode: '63016' });

    const delivered = uid('SM');
    await store().messages.recordOutbound({ sid: delivered, to: '+46701234567', kind: 'session', status: 'delivered' });
    expect(await store().messages.updateStatus(delivered, 'failed', '30008', '2025-05-01T10:00:05Z')).toBe(false);
    expect((await store().messages.get(delivered))?.status).toBe('delivered');
  });

  it('a status callback that beats recordOutbound is kept, and not downgraded by it', async () => {
    const sid = uid('SM');
    expect(await store().messages.updateStatus(sid, 'sent', undefined, '2025-05-01T10:00:01Z')).toBe(true);
    await store().messages.recordOutbound({ sid, customerId: 'cust-2', to: '+46701234567', kind: 'session', status: 'queued' });
    expect(await store().messages.get(sid)).toMatchObject({ sid, customerId: 'cust-2', kind: 'session', status: 'sent' });
  });

  it('concurrent out-of-order callbacks end on the furthest status', async () => {
    const sid = uid('SM');
    await store().messages.recordOutbound({ sid, to: '+46701234567', kind: 'session', status: 'queued' });
    const order = ['read', 'sent', 'sending', 'delivered', 'sent', 'read', 'queued'] as const;
    await Promise.all(order.map((s, i) => store().messages.updateStatus(sid, s, undefined, new Date(Date.UTC(2025, 0, 1, 0, 0, i)))));
    expect((await store().messages.get(sid))?.status).toBe('read');
  });
});

describe.each(BACKENDS)('processed events on %s', (backendName) => {
  const { store } = useStore(backendName);

  it('claim succeeds once; the second claim returns false', async () => {
    const key = uid('twilio:SM');
    expect(await store().events.claim(key, 'whatsapp.inbound')).toBe(true);
    expect(await store().events.claim(key, 'whatsapp.inbound')).toBe(false);
    expect(await store().events.get(key)).toMatchObject({ key, kind: 'whatsapp.inbound', status: 'pending' });
  });

  it('a pending claim past its lease can be taken over once; a completed one never', async () => {
    const key = uid('lease');
    const age = (key: string) => store().db.updateTable('processed_events').set({ created_at: '2000-01-01T00:00:00.000Z' }).where('key', '=', key).execute();
    expect(await store().events.claim(key, 'whatsapp.inbound')).toBe(true);
    // Still within the lease: a retry is a duplicate.
    expect(await store().events.claim(key, 'whatsapp.inbound', 60_000)).toBe(false);
    // The handler died long ago: the next retries race for the claim and exactly one wins.
    await age(key);
    const racers = await Promise.all(Array.from({ length: 5 }, () => store().events.claim(key, 'whatsapp.inbound', 60_000)));
    expect(racers.filter(Boolean)).toHaveLength(1);
    await store().events.complete(key, { ok: true });
    await age(key);
    expect(await store().events.claim(key, 'whatsapp.inbound', 60_000)).toBe(false);
  });

  it('of concurrent claims exactly one wins', async () => {
    const key = uid('evt');
    const results = await Promise.all(Array.from({ length: 20 }, () => store().events.claim(key, 'amp.checkout')));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('complete stores the result for retries to reuse', async () => {
    const key = uid('evt');
    await store().events.claim(key, 'amp.checkout');
    await store().events.complete(key, { orderId: 'o-1', total: 4995, lines: [1, 2], ok: true, note: null });
    const event = await store().events.get(key);
    expect(event).toMatchObject({
      status: 'completed',
      result: { orderId: 'o-1', total: 4995, lines: [1, 2], ok: true, note: null },
    });
    expect(event?.completedAt).toBeDefined();
    await expect(store().events.complete(uid('never'), {})).rejects.toThrow(/never claimed/);
  });

  it('release frees a pending claim but never a completed one', async () => {
    const key = uid('evt');
    await store().events.claim(key, 'k');
    await store().events.release(key);
    expect(await store().events.claim(key, 'k')).toBe(true);
    await store().events.complete(key, 1);
    await store().events.release(key);
    expect(await store().events.claim(key, 'k')).toBe(false);
  });
});

describe.each(BACKENDS)('queued WhatsApp replies on %s', (backendName) => {
  const { store } = useStore(backendName);
  const reply = (body: string) => ({ customerId: 'cust-1', message: { to: 'whatsapp:+447700900123', body }, meta: { kind: 'reply' } });
  // Every call gets the caller's clock; the wall clock plays no part.
  const T0 = Date.parse('2026-03-01T09:00:00.000Z');
  const at = (ms: number) => new Date(T0 + ms);
  const rowsOf = async (key: string) =>
    (await store().db.selectFrom('whatsapp_replies').select(['seq', 'status', 'attempts', 'last_error', 'next_attempt_at']).where('event_key', '=', key).orderBy('seq').execute()).map((r) => [
      Number(r.seq),
      r.status,
      Number(r.attempts),
      r.last_error,
      r.next_attempt_at,
    ]);

  it('queues an event once, in order, and one claimant at a time takes it', async () => {
    const key = uid('twilio:inbound');
    await store().whatsappReplies.enqueue(key, [reply('one'), reply('two')], at(0));
    await store().whatsappReplies.enqueue(key, [reply('again')], at(0));
    const claims = await Promise.all(Array.from({ length: 5 }, () => store().whatsappReplies.claim(key, 60_000, at(0))));
    const winners = claims.filter((c) => c.length > 0);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.map((r) => [r.seq, r.message.body, r.attempts])).toEqual([
      [0, 'one', 0],
      [1, 'two', 0],
    ]);
    expect(winners[0]![0]).toMatchObject({ eventKey: key, customerId: 'cust-1', meta: { kind: 'reply' } });
  });

  it('sent leaves the queue; retryLater stays with one attempt more; failed leaves it with the reason', async () => {
    const key = uid('twilio:inbound');
    await store().whatsappReplies.enqueue(key, [reply('a'), reply('b'), reply('c')], at(0));
    await store().whatsappReplies.claim(key, 60_000, at(0));
    await store().whatsappReplies.sent(key, 0, at(1_000));
    await store().whatsappReplies.failed(key, 2, 'outside_window: too late', at(2_000));
    await store().whatsappReplies.retryLater(key, 1, 'network: reset', at(30_000), at(3_000));
    const again = await store().whatsappReplies.claim(key, 60_000, at(30_000));
    expect(again.map((r) => [r.seq, r.attempts])).toEqual([[1, 1]]);
    expect(await rowsOf(key)).toEqual([
      [0, 'sent', 1, null, null],
      [1, 'queued', 1, 'network: reset', '2026-03-01T09:00:30.000Z'],
      [2, 'failed', 1, 'outside_window: too late', null],
    ]);
  });

  it('due lists queued events older than the given age whose lease is free, by the given clock', async () => {
    const fresh = uid('twilio:inbound');
    const old = uid('twilio:inbound');
    const leased = uid('twilio:inbound');
    await store().whatsappReplies.enqueue(old, [reply('x')], at(0));
    await store().whatsappReplies.enqueue(leased, [reply('x')], at(0));
    await store().whatsappReplies.enqueue(fresh, [reply('x')], at(55_000));
    await store().whatsappReplies.claim(leased, 60_000, at(0));
    const due = await store().whatsappReplies.due(10_000, 1_000, at(59_999));
    expect(due).toContain(old);
    expect(due).not.toContain(fresh);
    expect(due).not.toContain(leased);
    // The lease ran out at T0 + 60 s.
    expect(await store().whatsappReplies.due(10_000, 1_000, at(60_001))).toContain(leased);
  });

  it('a reply retried later is not due, and cannot be claimed, before its retry time; the replies after it wait too', async () => {
    const key = uid('twilio:inbound');
    await store().whatsappReplies.enqueue(key, [reply('first'), reply('second')], at(0));
    await store().whatsappReplies.claim(key, 60_000, at(0));
    const retryAt = at(45_000);
    await store().whatsappReplies.retryLater(key, 0, '20500: Internal Server Error', retryAt, at(1_000));
    // The lease is over (retryLater ends it), the rows are old enough: only the retry time holds them.
    expect(await store().whatsappReplies.due(10_000, 1_000, at(44_999))).not.toContain(key);
    expect(await store().whatsappReplies.claim(key, 60_000, at(44_999))).toEqual([]);
    expect(await store().whatsappReplies.due(10_000, 1_000, retryAt)).toContain(key);
    const claimed = await store().whatsappReplies.claim(key, 60_000, retryAt);
    expect(claimed.map((r) => [r.seq, r.message.body, r.attempts])).toEqual([
      [0, 'first', 1],
      [1, 'second', 0],
    ]);
  });
});

describe.each(BACKENDS)('consents on %s', (backendName) => {
  const { store } = useStore(backendName);

  it('set and get per channel; the latest decision wins', async () => {
    const id = uid('cust');
    expect(await store().consents.get(id, 'whatsapp')).toBeUndefined();
    expect(await store().consents.isOptedOut(id, 'whatsapp')).toBe(false);

    await store().consents.set(id, 'whatsapp', false, 'whatsapp:STOP');
    expect(await store().consents.get(id, 'whatsapp')).toMatchObject({ granted: false, source: 'whatsapp:STOP' });
    expect(await store().consents.isOptedOut(id, 'whatsapp')).toBe(true);
    expect(await store().consents.isOptedOut(id, 'email')).toBe(false);

    await store().consents.set(id, 'whatsapp', true, 'whatsapp:START');
    const consent = await store().consents.get(id, 'whatsapp');
    expect(consent).toMatchObject({ granted: true, source: 'whatsapp:START' });
    expect(consent?.updatedAt).toMatch(/Z$/);
    expect(await store().consents.isOptedOut(id, 'whatsapp')).toBe(false);
  });
});
