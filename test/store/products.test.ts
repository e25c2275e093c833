import { describe, expect, it } from 'vitest';
import { BACKENDS, uid, useStore } from './backends.ts';
import { installFailingTrigger } from './failing-trigger.ts';
import { product } from './fixtures.ts';

describe.each(BACKENDS)('products on %s', (backendName) => {
  const { store } = useStore(backendName);

  it('keeps market prices per currency and rejects sub-minor-unit market prices', async () => {
    const sku = uid('market');
    await store().products.upsertMany([product(sku, { prices: { TRY: 2499, SEK: 549.5, JPY: 8200 } })]);
    expect((await store().products.get(sku))!.prices).toEqual({ TRY: 2499, SEK: 549.5, JPY: 8200 });
    await expect(store().products.upsertMany([product(uid('bad'), { prices: { JPY: 8200.5 } })])).rejects.toThrow(/JPY allows at most 0 decimal places/);
  });

  it('round-trips every field exactly, in minor units underneath', async () => {
    const sku = uid('full');
    const full = {
      sku,
      title: 'Åre ski jacket — “Fjäll”',
      description: 'Waterproof, 20k/20k.\nLine two',
      category: 'outerwear',
      price: 1299.5,
      compareAtPrice: 1499,
      currency: 'SEK',
      image: 'https://cdn.example/img/jacket.jpg',
      url: 'https://shop.example/p/jacket?ref=mail&x=1',
      sizes: [
        { size: 'XS', stock: 0 },
        { size: 'M', stock: 12 },
        { size: 'S', stock: 4 },
      ],
      tags: ['ski', 'new', 'mountains'],
      newArrival: true,
    };
    const minimal = { sku: uid('min'), title: 'Yen tee', price: 4980, currency: 'JPY', url: 'https://shop.example/t', sizes: [{ size: 'ONE', stock: 1 }] };
    const returned = await store().products.upsertMany([full, minimal]);
    expect(returned[0]).toEqual(full);
    expect(await store().products.get(sku)).toStrictEqual(full);
    // Defaults are filled and absent optionals stay absent (no null or undefined keys).
    expect(await store().products.get(minimal.sku)).toStrictEqual({ ...minimal, tags: [], newArrival: false });

    const row = await store().db.selectFrom('products').selectAll().where('sku', '=', sku).executeTakeFirstOrThrow();
    expect(row.price_minor).toBe(129950);
    expect(row.compare_at_price_minor).toBe(149900);
    const yen = await store().db.selectFrom('products').select('price_minor').where('sku', '=', minimal.sku).executeTakeFirstOrThrow();
    expect(yen.price_minor).toBe(4980);
  });

  it('upsert replaces the product: sizes swapped, cleared optionals gone', async () => {
    const sku = uid('swap');
    await store().products.upsertMany([product(sku, { description: 'old', image: 'https://cdn.example/a.png' })]);
    const replacement = product(sku, {
      title: 'Renamed',
      price: 39,
      sizes: [
        { size: 'L', stock: 7 },
        { size: 'S', stock: 1 },
      ],
    });
    await store().products.upsertMany([replacement]);
    const got = await store().products.get(sku);
    expect(got).toStrictEqual(replacement);
    expect(got?.sizes.map((s) => s.size)).toEqual(['L', 'S']);
    const sizeRows = await store().db.selectFrom('product_sizes').select('size').where('sku', '=', sku).execute();
    expect(sizeRows).toHaveLength(2);
  });

  it('getMany keeps the requested order and skips unknown skus; list is sorted by sku', async () => {
    const a = uid('gm-a');
    const b = uid('gm-b');
    await store().products.upsertMany([product(a), product(b)]);
    const got = await store().products.getMany([b, 'does-not-exist', a, b]);
    expect(got.map((p) => p.sku)).toEqual([b, a]);
    const all = await store().products.list();
    const skus = all.map((p) => p.sku);
    expect(skus).toEqual([...skus].sort());
    expect(skus).toEqual(expect.arrayContaining([a, b]));
    expect(all.find((p) => p.sku === a)).toStrictEqual(product(a));
  });

  it.each([
    ['a duplicate size', (sku: string) => product(sku, { sizes: [{ size: 'M', stock: 1 }, { size: 'M', stock: 2 }] })],
    ['more decimals than the currency has', (sku: string) => product(sku, { price: 49.999 })],
    ['a negative stock', (sku: string) => product(sku, { sizes: [{ size: 'M', stock: -1 }] })],
    ['an unknown currency', (sku: string) => product(sku, { currency: 'EURO' })],
    ['a javascript: url', (sku: string) => product(sku, { url: 'javascript:alert(1)' })],
  ])('rejects a batch with %s and writes nothing of it', async (_label, bad) => {
    const existing = uid('keep');
    await store().products.upsertMany([product(existing)]);
    const fresh = uid('fresh');
    await expect(
      store().products.upsertMany([product(fresh), product(existing, { title: 'changed' }), bad(uid('bad'))]),
    ).rejects.toThrow();
    expect(await store().products.get(fresh)).toBeUndefined();
    expect(await store().products.get(existing)).toStrictEqual(product(existing));
  });

  it('rejects the same sku twice in one batch', async () => {
    const sku = uid('twice');
    await expect(store().products.upsertMany([product(sku), product(sku, { price: 1 })])).rejects.toThrow(/duplicate sku/);
    expect(await store().products.get(sku)).toBeUndefined();
  });

  it('rolls back products already written when the database fails mid-batch', async () => {
    // Inserting the size 'BOOM' raises inside the database, in the middle of the batch.
    await installFailingTrigger(store(), { name: 'boom', table: 'product_sizes', column: 'size', value: 'BOOM' });
    const existing = uid('pre');
    await store().products.upsertMany([product(existing)]);
    const before = await store().products.list();
    const first = uid('first');
    await expect(
      store().products.upsertMany([
        product(first),
        product(existing, { title: 'changed', sizes: [{ size: 'XL', stock: 9 }] }),
        product(uid('explode'), { sizes: [{ size: 'BOOM', stock: 1 }] }),
      ]),
    ).rejects.toThrow(/boom/);
    expect(await store().products.get(first)).toBeUndefined();
    expect(await store().products.get(existing)).toStrictEqual(product(existing));
    expect(await store().products.list()).toStrictEqual(before);
  });

  it('decrementStock takes stock only when enough is left', async () => {
    const sku = uid('dec');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 3 }, { size: 'L', stock: 1 }] })]);
    expect(await store().products.decrementStock(undefined, sku, 'M', 2)).toBe(true);
    expect(await store().products.decrementStock(undefined, sku, 'M', 2)).toBe(false);
    expect(await store().products.decrementStock(undefined, sku, 'XXL', 1)).toBe(false);
    expect(await store().products.decrementStock(undefined, 'no-such-sku', 'M', 1)).toBe(false);
    expect(await store().products.decrementStock(undefined, sku, 'M', 1)).toBe(true);
    await expect(store().products.decrementStock(undefined, sku, 'L', 0)).rejects.toThrow(RangeError);
    expect((await store().products.get(sku))?.sizes).toEqual([
      { size: 'M', stock: 0 },
      { size: 'L', stock: 1 },
    ]);
  });

  it('50 concurrent decrements of the last 5 units: exactly 5 succeed, stock ends at 0', async () => {
    const sku = uid('race');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 5 }] })]);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => store().products.decrementStock(undefined, sku, 'M', 1)),
    );
    expect(results.filter(Boolean)).toHaveLength(5);
    expect((await store().products.get(sku))?.sizes).toEqual([{ size: 'M', stock: 0 }]);
  });

  it('a decrement inside a rolled-back transaction leaves stock untouched', async () => {
    const sku = uid('trx');
    await store().products.upsertMany([product(sku, { sizes: [{ size: 'M', stock: 2 }] })]);
    await expect(
      store().db.transaction().execute(async (trx) => {
        expect(await store().products.decrementStock(trx, sku, 'M', 2)).toBe(true);
        expect((await store().products.get(sku, trx))?.sizes).toEqual([{ size: 'M', stock: 0 }]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await store().products.get(sku))?.sizes).toEqual([{ size: 'M', stock: 2 }]);
  });
});
