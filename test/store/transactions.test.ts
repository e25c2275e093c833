import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { placeOrder } from '../../src/store/place-order.ts';
import pg from 'pg';
import { BACKENDS, PG_URL, uid, useStore } from './backends.ts';
import { orderInput as baseInput, product } from './fixtures.ts';

/** A promise the test settles by hand, to hold a transaction open at a chosen point. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * Waits until the PostgreSQL backend `pid()` names waits on a lock (it polls pg_stat_activity).
 * Bounded by time, not by a count of polls: on a loaded machine the duplicate may take seconds
 * to reach its insert.
 */
async function waitUntilBlocked(pid: () => number | undefined): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const giveUpAt = Date.now() + 30_000; Date.now() < giveUpAt; ) {
      const current = pid();
      if (current !== undefined) {
        const { rows } = await client.query<{ wait: string | null }>('select wait_event_type as wait from pg_stat_activity where pid = $1', [current]);
        if (rows[0]?.wait === 'Lock') return;
      } else await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error('the duplicate never waited on a lock');
  } finally {
    await client.end();
  }
}

const reply = (customerId: string) => [{ customerId, message: { body: 'hello' }, meta: { kind: 'reply' } }];

describe.each(BACKENDS)('store.transaction on %s', (backendName) => {
  const { store } = useStore(backendName);

  it('commits the writes of several repositories together, and none of them when the work throws', async () => {
    const sku = uid('tx');
    await store().products.upsertMany([product(sku)]);
    const [kept, lost] = [uid('cust'), uid('cust')];
    await store().transaction(async (tx) => {
      expect(tx.db.isTransaction).toBe(true);
      await tx.carts.setItem(kept, sku, 'M', 2);
      await tx.whatsappReplies.enqueue(`evt:${kept}`, reply(kept), tx.now());
      await tx.events.claimInTransaction(`evt:${kept}`, 'test');
    });
    expect((await store().carts.get(kept)).items).toEqual([{ sku, size: 'M', quantity: 2 }]);
    expect((await store().whatsappReplies.queued()).filter((r) => r.customerId === kept)).toHaveLength(1);

    await expect(
      store().transaction(async (tx) => {
        // addItem and upsertMany run several statements atomically: inside a transaction they
        // join it instead of opening one of their own (kysely cannot nest them).
        await tx.carts.addItem(lost, sku, 'M', 1);
        await tx.products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 99 }] })]);
        await tx.whatsappReplies.enqueue(`evt:${lost}`, reply(lost), tx.now());
        // A nested call joins the same transaction.
        await tx.transaction(async (inner) => inner.events.claimInTransaction(`evt:${lost}`, 'test'));
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    expect((await store().carts.get(lost)).items).toEqual([]);
    expect((await store().products.get(sku))!.sizes.find((s) => s.size === 'M')!.stock).toBe(5);
    expect((await store().whatsappReplies.queued()).filter((r) => r.customerId === lost)).toEqual([]);
    expect(await store().events.get(`evt:${lost}`)).toBeUndefined();
  });

  it('placeOrder inside a transaction: an order short of stock undoes only its own writes, and the transaction goes on', async () => {
    const sku = uid('tx-short');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 1 }, { size: 'S', stock: 0 }] })]);
    const customerId = uid('cust');
    const outcome = await store().transaction(async (tx) => {
      await tx.carts.setItem(customerId, sku, 'M', 1);
      // M is taken first (fixed order), then S is short: the M decrement is rolled back with it.
      const short = await placeOrder(tx, baseInput(sku, {
        customerId,
        lines: [
          { sku, size: 'M', quantity: 1, unitPriceMinor: 4995, title: 'M' },
          { sku, size: 'S', quantity: 1, unitPriceMinor: 4995, title: 'S' },
        ],
      }));
      const placed = await placeOrder(tx, baseInput(sku, { customerId, clearCart: true }));
      return { short, placed };
    });
    expect(outcome.short).toEqual({ error: 'out_of_stock', sku, size: 'S' });
    expect(outcome.placed).toMatchObject({ created: true });
    expect(await store().orders.listByCustomer(customerId)).toHaveLength(1);
    expect((await store().products.get(sku))!.sizes.find((s) => s.size === 'M')!.stock).toBe(0);
    expect((await store().carts.get(customerId)).items).toEqual([]);
  });

  it('a failed statement inside placeOrder (a clashing order number) does not abort the enclosing transaction', async () => {
    const sku = uid('tx-clash');
    await store().products.upsertMany([product(sku)]);
    const customerId = uid('cust');
    const first = await placeOrder(store(), baseInput(sku, { customerId }));
    if (!('order' in first)) throw new Error('expected an order');
    await store().transaction(async (tx) => {
      // Without the savepoint PostgreSQL would refuse every later statement of the transaction
      // ("current transaction is aborted").
      await expect(placeOrder(tx, baseInput(sku, { customerId, number: first.order.number }))).rejects.toThrow();
      await tx.carts.setItem(customerId, sku, 'S', 1);
    });
    expect((await store().carts.get(customerId)).items).toEqual([{ sku, size: 'S', quantity: 1 }]);
    expect(await store().orders.listByCustomer(customerId)).toHaveLength(1);
  });
});

describe.each(BACKENDS)('claims completed in the transaction of their effects on %s', (backendName) => {
  const { store } = useStore(backendName);

  it('a claim rolled back with its transaction leaves nothing; a committed one is completed and never claimed again', async () => {
    const key = uid('twilio:inbound:SM');
    await expect(
      store().transaction(async (tx) => {
        expect(await tx.events.claimInTransaction(key, 'whatsapp.inbound')).toBe(true);
        throw new Error('crashed mid-way');
      }),
    ).rejects.toThrow('crashed mid-way');
    expect(await store().events.get(key)).toBeUndefined();

    const claimed = await store().transaction(async (tx) => {
      const won = await tx.events.claimInTransaction(key, 'whatsapp.inbound');
      if (won) await tx.events.complete(key, { replies: 1 });
      return won;
    });
    expect(claimed).toBe(true);
    expect(await store().events.get(key)).toMatchObject({ status: 'completed', result: { replies: 1 } });
    expect(await store().transaction((tx) => tx.events.claimInTransaction(key, 'whatsapp.inbound'))).toBe(false);
  });

  it('a pending claim (an older version died holding it) is taken over at once, inside its lease', async () => {
    const key = uid('twilio:inbound:SM');
    expect(await store().events.claim(key, 'whatsapp.inbound', 30_000)).toBe(true);
    expect(await store().transaction((tx) => tx.events.claimInTransaction(key, 'whatsapp.inbound'))).toBe(true);
  });

  it.each([
    ['completes', false],
    ['rolls back', true],
  ] as const)('a duplicate claimed while the first transaction is open waits for it; the first %s, the duplicate wins: %s', async (_, duplicateWins) => {
    const key = uid('twilio:inbound:SM');
    const claimed = gate();
    const finish = gate();
    const first = store().transaction(async (tx) => {
      await tx.events.claimInTransaction(key, 'whatsapp.inbound');
      claimed.open();
      await finish.opened;
      if (duplicateWins) throw new Error('the first handler failed');
      await tx.events.complete(key, { first: true });
    });
    await claimed.opened;
    const done: string[] = [];
    let pid: number | undefined;
    const duplicate = store()
      .transaction(async (tx) => {
        if (backendName === 'postgres') pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx.db)).rows[0]!.pid;
        return tx.events.claimInTransaction(key, 'whatsapp.inbound');
      })
      .then((won) => {
        done.push('duplicate');
        return won;
      });
    const firstSettled = first.then(
      () => done.push('first'),
      () => done.push('first'),
    );
    // PostgreSQL: the duplicate's insert is seen waiting on the first one's lock before the
    // first ends. (SQLite: it cannot even begin while the first holds the one connection.)
    if (backendName === 'postgres') await waitUntilBlocked(() => pid);
    finish.open();
    expect(await duplicate).toBe(duplicateWins);
    await firstSettled;
    expect(done).toEqual(['first', 'duplicate']);
  });
});
