import type { Store } from '../store/index.ts';
import type { CartItem } from '../store/carts-repository.ts';
import type { AmpClaims } from './amp-claims.ts';

/**
 * The cart an email acts on. The customer's one store cart wins whenever it exists. A customer
 * who never had one there still has the cart the email displayed (an abandoned-cart message
 * rendered from the campaign system's data): with `seed`, its lines are written to the store
 * on the first change or checkout, so that "Complete order" buys what the email showed.
 *
 * Seeding sets absolute quantities, so two first requests racing write the same lines.
 */
export async function messageCart(
  store: Pick<Store, 'carts' | 'products'>,
  claims: Pick<AmpClaims, 'sub' | 'cart'>,
  options: { seed: boolean },
): Promise<CartItem[]> {
  const cart = await store.carts.get(claims.sub);
  if (cart.updatedAt !== null || !claims.cart?.length) return cart.items;

  // A line the message showed without a size is only buyable when the product has one size.
  const unsized = claims.cart.filter(([, size]) => size === '').map(([sku]) => sku);
  const single = new Map(
    (unsized.length ? await store.products.getMany(unsized) : []).flatMap((p) => (p.sizes.length === 1 ? [[p.sku, p.sizes[0]!.size] as const] : [])),
  );
  const lines: CartItem[] = [];
  for (const [sku, size, quantity] of claims.cart) {
    const resolved = size || single.get(sku);
    if (resolved) lines.push({ sku, size: resolved, quantity });
  }
  if (!options.seed || lines.length === 0) return lines;
  for (const l of lines) await store.carts.setItem(claims.sub, l.sku, l.size, l.quantity);
  return (await store.carts.get(claims.sub)).items;
}
