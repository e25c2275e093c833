import type { Product } from '../commerce/product-schema.ts';
import type { Repositories } from '../store/open-store.ts';
import type { CatalogProduct } from '../store/products-repository.ts';
import { chunks } from '../store/chunks.ts';
import { priceDropCauses, restockedSizes } from './catalog-causes.ts';
import { customerEventQueries } from './customer-events.ts';
import type { TriggerSettingsStore } from './trigger-settings.ts';
import { triggerFires, type Cause } from './trigger-fires.ts';

const DAY_MS = 86_400_000;

/**
 * PUT /v1/catalog/products with its triggers: the products, their price history and the
 * price-drop and back-in-stock fires they cause commit in one transaction (a transactional
 * outbox, like the shop's webhooks). A process killed after the commit leaves the fires
 * pending, and the next dispatch (any instance, any tick) notifies from them; one killed before
 * leaves neither the change nor the fire.
 *
 * On PostgreSQL the products' rows are locked before they are read, so two writes of one
 * product compare against each other's result, never against the same "before".
 */
export async function writeCatalog(store: Pick<Repositories, 'transaction'>, products: readonly Product[], settings: TriggerSettingsStore): Promise<{ stored: CatalogProduct[]; fired: Cause[] }> {
  return store.transaction(async (tx) => {
    const skus = products.map((p) => p.sku);
    if (tx.dialect === 'postgres') {
      for (const slice of chunks(skus, 500)) await tx.db.selectFrom('products').select('sku').where('sku', 'in', slice).forUpdate().execute();
    }
    const before = new Map((await tx.products.getMany(skus)).map((p) => [p.sku, p]));
    const stored = await tx.products.upsertMany(products);
    const at = tx.now();
    const atIso = at.toISOString();
    const current = await settings.current(tx.db);
    const fires = triggerFires(tx.db);
    const causes: Cause[] = current['price-drop'].enabled ? priceDropCauses(before, stored, current['price-drop']) : [];
    if (current['back-in-stock'].enabled) {
      const events = customerEventQueries(tx.db);
      const windowStart = new Date(at.getTime() - current['back-in-stock'].windowDays * DAY_MS).toISOString();
      for (const { product, size, stock } of restockedSizes(before, stored)) {
        const subject = `${product.sku}|${size}`;
        // A request is answered by the first restock after it: the window starts at the last one.
        const previous = await fires.previous('back-in-stock', subject, atIso);
        const after = previous && previous.firedAt > windowStart ? previous.firedAt : windowStart;
        // Sizes nobody waits for (most of them) record no fire.
        if ((await events.requesters(product.sku, size, after, atIso)).length === 0) continue;
        causes.push({ trigger: 'back-in-stock', key: `${subject}|${atIso}`, subject, detail: { sku: product.sku, title: product.title, size, stock, since: atIso, requestedAfter: after } });
      }
    }
    const fired: Cause[] = [];
    for (const cause of causes) if (await fires.record(cause, at)) fired.push(cause);
    return { stored, fired };
  });
}
