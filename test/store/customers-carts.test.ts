import { describe, expect, it } from 'vitest';
import type { Customer } from '../../src/store/customers-repository.ts';
import { BACKENDS, uid, useStore } from './backends.ts';
import { address } from './fixtures.ts';
import { testClock } from '../support/test-clock.ts';

describe.each(BACKENDS)('customers on %s', (backendName) => {
  const { store } = useStore(backendName);

  function customer(id: string, overrides: Partial<Customer> = {}): Customer {
    return {
      id,
      email: 'ingrid@example.se',
      phone: '+46701234567',
      locale: 'sv',
      currency: 'SEK',
      timezone: 'Europe/Stockholm',
      profile: { firstName: 'Ingrid', loyalty: { tier: 'silver', points: 850 }, sizes: ['M', 'L'], vip: false },
      address,
      paymentMethod: { type: 'card', last4: '4242', token: 'pm_123' },
      lastInboundAt: '2025-05-01T09:30:00.000Z',
      ...overrides,
    };
  }

  it('round-trips every field exactly; absent optionals stay absent', async () => {
    const full = customer(uid('c'));
    await store().customers.upsert(full);
    expect(await store().customers.get(full.id)).toStrictEqual(full);

    const bare: Customer = { id: uid('bare'), locale: 'en', currency: 'EUR', timezone: 'UTC', profile: {} };
    await store().customers.upsert(bare);
    expect(await store().customers.get(bare.id)).toStrictEqual(bare);
    expect(await store().customers.get('missing')).toBeUndefined();
  });

  it('upsert replaces the profile fields but keeps lastInboundAt tracked from WhatsApp', async () => {
    const id = uid('c');
    await store().customers.upsert(customer(id));
    const { lastInboundAt: _dropped, address: _a, paymentMethod: _p, ...rest } = customer(id);
    await store().customers.upsert({ ...rest, email: 'new@example.se', locale: 'en' });
    expect(await store().customers.get(id)).toStrictEqual({
      ...rest,
      email: 'new@example.se',
      locale: 'en',
      lastInboundAt: '2025-05-01T09:30:00.000Z',
    });
  });

  it('rejects a phone that is not E.164', async () => {
    await expect(store().customers.upsert(customer(uid('c'), { phone: '0701234567' }))).rejects.toThrow(/E\.164/);
  });

  it('finds a customer by phone, the most recently updated one on duplicates', async () => {
    const phone = `+4670${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;
    const first = customer(uid('c'), { phone });
    const second = customer(uid('c'), { phone, email: 'second@example.se' });
    await store().customers.upsert(first);
    testClock.advance(1000);
    await store().customers.upsert(second);
    expect((await store().customers.findByPhone(phone))?.id).toBe(second.id);
    expect(await store().customers.findByPhone('+15550000000')).toBeUndefined();
  });

  it('setLastInboundAt only moves forward', async () => {
    const id = uid('c');
    await store().customers.upsert(customer(id));
    await store().customers.setLastInboundAt(id, '2025-05-02T08:00:00+02:00');
    expect((await store().customers.get(id))?.lastInboundAt).toBe('2025-05-02T06:00:00.000Z');
    await store().customers.setLastInboundAt(id, new Date('2025-04-01T00:00:00Z'));
    expect((await store().customers.get(id))?.lastInboundAt).toBe('2025-05-02T06:00:00.000Z');
    const bare = uid('bare');
    await store().customers.upsert({ id: bare, locale: 'en', currency: 'EUR', timezone: 'UTC', profile: {} });
    await store().customers.setLastInboundAt(bare, '2025-01-01T00:00:00Z');
    expect((await store().customers.get(bare))?.lastInboundAt).toBe('2025-01-01T00:00:00.000Z');
  });

  it('merges zero-party preferences key by key', async () => {
    const id = uid('c');
    expect(await store().customers.getPreferences(id)).toEqual({});
    await store().customers.setPreferences(id, { skinType: 'dry', concerns: ['redness', 'fine lines'] });
    await store().customers.setPreferences(id, { skinType: 'combination', fit: 'relaxed' });
    expect(await store().customers.getPreferences(id)).toStrictEqual({
      concerns: ['redness', 'fine lines'],
      fit: 'relaxed',
      skinType: 'combination',
    });
    await expect(store().customers.setPreferences(id, { bad: 3 as unknown as string })).rejects.toThrow(TypeError);
  });
});

describe.each(BACKENDS)('carts on %s', (backendName) => {
  const { store } = useStore(backendName);

  it('a customer without a cart gets an empty one', async () => {
    expect(await store().carts.get('nobody')).toEqual({ customerId: 'nobody', items: [], updatedAt: null });
  });

  it('one cart per customer: what one channel adds, the other sees', async () => {
    const customerId = uid('cust');
    // The AMP email adds a shirt…
    await store().carts.setItem(customerId, 'SHIRT', 'M', 1);
    // …and the WhatsApp conversation, for the same customer, adds shorts and reads the cart.
    await store().carts.setItem(customerId, 'SHORTS', 'L', 2);
    const cart = await store().carts.get(customerId);
    expect(cart.items).toEqual([
      { sku: 'SHIRT', size: 'M', quantity: 1 },
      { sku: 'SHORTS', size: 'L', quantity: 2 },
    ]);
    expect(cart.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const carts = await store().db.selectFrom('carts').selectAll().where('customer_id', '=', customerId).execute();
    expect(carts).toHaveLength(1);
    expect((await store().carts.get(uid('other'))).items).toEqual([]);
  });

  it('setItem sets the quantity, 0 removes the line', async () => {
    const customerId = uid('cust');
    await store().carts.setItem(customerId, 'A', 'M', 1);
    await store().carts.setItem(customerId, 'B', 'S', 1);
    expect((await store().carts.setItem(customerId, 'A', 'M', 3)).items).toEqual([
      { sku: 'A', size: 'M', quantity: 3 },
      { sku: 'B', size: 'S', quantity: 1 },
    ]);
    expect((await store().carts.setItem(customerId, 'A', 'M', 0)).items).toEqual([{ sku: 'B', size: 'S', quantity: 1 }]);
    await expect(store().carts.setItem(customerId, 'A', 'M', -1)).rejects.toThrow(RangeError);
    await expect(store().carts.setItem(customerId, 'A', 'M', 1.5)).rejects.toThrow(RangeError);
  });

  it('lines keep the order they were added in, even within one millisecond', async () => {
    for (let round = 0; round < 20; round++) {
      const customer = uid('order');
      await store().carts.addItem(customer, 'Z-LAST-SKU', 'M', 1);
      await store().carts.setItem(customer, 'A-FIRST-SKU', 'S', 1);
      await store().carts.addItem(customer, 'M-MIDDLE-SKU', 'L', 1);
      expect((await store().carts.get(customer)).items.map((i) => i.sku)).toEqual(['Z-LAST-SKU', 'A-FIRST-SKU', 'M-MIDDLE-SKU']);
    }
  });

  it('concurrent addItem calls all count', async () => {
    const customerId = uid('cust');
    await Promise.all(Array.from({ length: 10 }, () => store().carts.addItem(customerId, 'A', 'M', 1)));
    expect((await store().carts.get(customerId)).items).toEqual([{ sku: 'A', size: 'M', quantity: 10 }]);
  });

  it('replace makes the cart exactly the given lines, in their order; a line given twice adds up', async () => {
    const customerId = uid('cust');
    await store().carts.setItem(customerId, 'OLD', 'M', 1);
    const before = (await store().carts.get(customerId)).updatedAt!;
    const cart = await store().carts.replace(customerId, [
      { sku: 'Z', size: 'S', quantity: 1 },
      { sku: 'A', size: 'L', quantity: 2 },
      { sku: 'Z', size: 'S', quantity: 1 },
    ]);
    expect(cart.items).toEqual([
      { sku: 'Z', size: 'S', quantity: 2 },
      { sku: 'A', size: 'L', quantity: 2 },
    ]);
    expect(cart.updatedAt! >= before).toBe(true);
    // Later additions come after the replaced lines.
    expect((await store().carts.addItem(customerId, 'B', 'M', 1)).items.map((i) => i.sku)).toEqual(['Z', 'A', 'B']);
    await expect(store().carts.replace(customerId, [{ sku: 'A', size: 'L', quantity: 0 }])).rejects.toThrow(RangeError);
    expect((await store().carts.get(customerId)).items).toHaveLength(3);
  });

  it('clear empties the cart', async () => {
    const customerId = uid('cust');
    await store().carts.setItem(customerId, 'A', 'M', 1);
    await store().carts.clear(customerId);
    const cart = await store().carts.get(customerId);
    expect(cart.items).toEqual([]);
    expect(cart.updatedAt).not.toBeNull();
  });
});
