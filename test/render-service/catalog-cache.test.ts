import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogCache } from '../../src/render-service/catalog-cache.ts';
import { openStore } from '../../src/store/index.ts';
import { createManualClock } from '../support/test-clock.ts';
import { catalogFixture, openTestApp, removeDir, type TestApp } from '../http/helpers.ts';
import { day } from '../http/price-history-api.ts';

describe('CatalogCache', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await openTestApp();
  });
  afterAll(async () => {
    await t.close();
    removeDir(t.dataDir);
  });

  it('sees what another instance wrote once its copy is older than maxAge, refreshed in the background', async () => {
    let clock = 1_000_000;
    const cache = new CatalogCache(t.store.products, { maxAgeMs: 30_000, now: () => clock });
    await cache.reload();
    const scarf = catalogFixture().find((p) => p.sku === 'NL-ACC-001')!;
    // Another instance raises the price in the shared database.
    await t.store.products.upsertMany([{ ...scarf, price: 44.95 }]);
    expect(cache.get('NL-ACC-001')!.price).toBe(39.95);
    clock += 10_000;
    cache.get('NL-ACC-001');
    await cache.idle();
    expect(cache.get('NL-ACC-001')!.price).toBe(39.95);
    clock += 25_000;
    expect(cache.get('NL-ACC-001')!.price).toBe(39.95); // served from the old copy while refreshing
    await cache.idle();
    expect(cache.get('NL-ACC-001')!.price).toBe(44.95);
  });

  it('keeps serving the old copy when a refresh fails, and reports it', async () => {
    let clock = 0;
    const errors: unknown[] = [];
    let fail = false;
    const cache = new CatalogCache(
      { list: async () => (fail ? Promise.reject(new Error('database unreachable')) : t.store.products.list()) },
      { maxAgeMs: 1_000, now: () => clock, onError: (e) => errors.push(e) },
    );
    await cache.reload();
    fail = true;
    clock += 5_000;
    expect(cache.get('NL-TOP-001')).toBeDefined();
    await cache.idle();
    expect(cache.get('NL-TOP-001')).toBeDefined();
    expect(errors).toHaveLength(1);
  });

  it('holds the reference prices the render reads, and they stay right as the clock moves on', async () => {
    const clock = createManualClock(day(-40));
    const store = await openStore({ dataDir: t.dataDir, sqliteFile: 'reference.sqlite', now: clock.now });
    try {
      let lists = 0;
      const cache = new CatalogCache({ list: () => (lists++, store.products.list()) }, { maxAgeMs: Number.MAX_SAFE_INTEGER });
      const scarf = { ...catalogFixture().find((p) => p.sku === 'NL-ACC-001')!, prices: { SEK: 500 } };
      await store.products.upsertMany([scarf]);
      await cache.reload();
      expect(cache.get(scarf.sku)!.referencePrices).toBeUndefined();
      clock.set(day(0));
      // What this instance writes reaches the cache with its reference prices (catalog.ts PUT).
      cache.put(await store.products.upsertMany([{ ...scarf, prices: { SEK: 400 } }]));
      const reference = { SEK: { priceMinor: 40000, since: day(0), lowest30dMinor: 50000 } };
      expect(cache.get(scarf.sku)!.referencePrices).toEqual(reference);
      await cache.reload();
      expect(cache.get(scarf.sku)!.referencePrices).toEqual(reference);
      // A year on, with no catalog write and no query, the copy still says what the history does.
      clock.set(day(365));
      expect(cache.get(scarf.sku)!.referencePrices).toEqual(reference);
      expect(lists).toBe(2);
      expect((await store.products.referencePricesAt([scarf.sku])).get(scarf.sku)).toMatchObject(reference);
    } finally {
      await store.close();
    }
  });
});
