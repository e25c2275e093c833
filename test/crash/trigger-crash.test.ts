import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { productBatchSchema } from '../../src/store/index.ts';
import { BACKENDS } from '../store/backends.ts';
import { createManualClock, NOW } from '../support/test-clock.ts';
import { customer, DAY, event, HOUR, openTriggerApp, postEvents, product, put, runs } from '../triggers/helpers.ts';

const at = (ms: number) => new Date(Date.parse(NOW) + ms);

/**
 * kill -9 between the catalog write and the notification: a child process commits a price drop
 * (the product, its price history and the fire, in one transaction) and dies before dispatching.
 * The fire is there, pending; the next tick of the surviving instance notifies each viewer once,
 * and any further tick or dispatch adds nothing.
 */
describe.each(BACKENDS)('a price drop survives a kill -9 after its commit on %s', (backend) => {
  it('notifies each viewer exactly once', { timeout: 60_000 }, async () => {
    const clock = createManualClock(at(-40 * DAY).toISOString());
    const t = await openTriggerApp(backend, clock);
    try {
      await put(t, '/v1/catalog/products', [product('CR-1', 100)]);
      await put(t, '/v1/customers', [customer('cr-a'), customer('cr-b'), customer('cr-c')]);
      clock.set(NOW);
      await postEvents(t, [
        event('product_viewed', 'cr-a', at(-2 * DAY), { sku: 'CR-1' }),
        event('wishlist_added', 'cr-b', at(-1 * DAY), { sku: 'CR-1' }),
        event('product_viewed', 'cr-c', at(-1 * DAY), { sku: 'CR-OTHER' }),
      ]);

      const { now: _clock, onPoolError: _fn, ...storeOptions } = t.store.openedWith;
      const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/crash/trigger-write-child.ts')], {
        cwd: PROJECT_ROOT,
        env: {
          PATH: process.env.PATH,
          CRASH_STORE: JSON.stringify(storeOptions),
          CRASH_NOW: at(HOUR).toISOString(),
          CRASH_PRODUCTS: JSON.stringify(productBatchSchema.parse([product('CR-1', 80)])),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
      expect([code, signal, stderr.trim()]).toEqual([null, 'SIGKILL', 'committed 1 fire(s)']);

      // The write is there, and so is its fire, not yet dispatched.
      expect((await request(t.app).get('/v1/catalog/products/CR-1').expect(200)).body.price).toBe(80);
      const [pending] = await runs(t, 'price-drop');
      expect(pending).toMatchObject({ status: 'pending', campaigns: [], notified: [], cause: { sku: 'CR-1', price: 80, lowest30d: 100 } });

      clock.set(at(2 * HOUR).toISOString());
      await t.triggers.tick();
      await t.settle();
      await t.triggers.tick();
      await t.triggers.dispatchPending();
      await t.settle();
      const list = await runs(t, 'price-drop');
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ status: 'dispatched', recipients: 2 });
      expect(list[0]!.notified).toEqual([
        { customerId: 'cr-a', channel: 'email', status: 'delivered' },
        { customerId: 'cr-b', channel: 'email', status: 'delivered' },
      ]);
      // One email each in the outbox (no SMTP_URL: .eml files).
      expect(readdirSync(t.config.campaigns.outputDir).filter((f) => f.endsWith('.eml'))).toHaveLength(2);
    } finally {
      await t.destroy();
    }
  });
});
