import type { Store } from '../store/index.ts';
import type { Cart, CartItem } from '../store/carts-repository.ts';
import type { AmpClaims } from '../commerce/amp-claims.ts';

/**
 * The cart a message's checkout acts on — "Complete order" in the email and "Check out" in
 * WhatsApp alike: of the cart the message showed and the customer's one store cart, the newer.
 *
 * A message that shows a cart (abandoned-cart, from the campaign system's data) shows it as of
 * its render (`cat`, the render's clock). A store cart changed after that — in this email, another
 * one or the chat — is the customer's later word and wins. A store cart not changed since does
 * not: empty after an earlier order, or holding lines from weeks ago, it is not what the
 * customer was just shown ("your cart with 3 items is saved"). Then the message's lines are the
 * cart, and with `seed` they replace the store cart's on the first change or checkout, so the
 * order buys exactly what the message showed and the store cart, newer now, wins from then on.
 *
 * Messages rendered before the time was recorded (no `cat`) keep the earlier rule: the store
 * cart wins once it exists. Seeding sets absolute quantities, so two first requests racing
 * write the same lines.
 */
export async function messageCart(
  store: Pick<Store, 'carts' | 'products'>,
  claims: Pick<AmpClaims, 'sub' | 'cart' | 'cat'>,
  options: { seed: boolean },
): Promise<CartItem[]> {
  const cart = await store.carts.get(claims.sub);
  if (!claims.cart?.length || storeCartWins(cart, claims.cat)) return cart.items;

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
  return (await store.carts.replace(claims.sub, lines)).items;
}

/**
 * Whether the store cart, rather than the cart a message showed at `shownAt` (epoch seconds,
 * rounded down), is the customer's cart: it changed after the message, or the message is too
 * old to say when it showed its cart. A change in the message's own second counts as later.
 */
export function storeCartWins(cart: Pick<Cart, 'updatedAt'>, shownAt: number | undefined): boolean {
  if (cart.updatedAt === null) return false;
  return shownAt === undefined || Date.parse(cart.updatedAt) >= shownAt * 1000;
}
