import { createHash } from 'node:crypto';
import { withCampaignParams, type CampaignParams } from '../shared/safe-url.ts';
import type { Order, Repositories } from '../store/index.ts';
import { messageOffer, type AmpClaims } from '../commerce/amp-claims.ts';
import { checkout, type CheckoutDeps, type CheckoutOutcome } from './checkout.ts';
import type { RequestedLine } from './price-order.ts';

/** What the checkout form asked for: the whole cart, or one product ("buy now"). */
export type EmailCheckoutRequest = { from: 'cart' } | { from: 'item'; sku: string; size: string; quantity: number };

export interface EmailCheckoutDeps extends CheckoutDeps {
  shopUrl: string;
}

/** The checkout's outcomes, with the shop's checkout page (campaign-tagged) to continue in. */
export type EmailCheckoutOutcome = Exclude<CheckoutOutcome, { kind: 'continue_in_shop' }> | { kind: 'continue_in_shop'; checkoutUrl: string; currency: string; totalMinor: number };

/**
 * How long an empty cart still counts as "the order this email just placed from it". The
 * first submission of a cart checkout empties the cart in the same transaction, so a double
 * click that arrives after it commits finds no lines to derive the key from.
 */
const CART_REPLAY_WINDOW_MS = 10 * 60_000;

/**
 * The idempotency key of a checkout form: customer and message from the token, plus the form
 * content that decides the order (normalised). The same form submitted twice makes one order;
 * another size, product, quantity or cart content makes a new one. The prefix tells cart
 * orders from "buy now" orders for the replay check above.
 */
export function checkoutKey(claims: Pick<AmpClaims, 'sub' | 'msg'>, kind: 'cart' | 'buy', lines: readonly RequestedLine[]): string {
  const normalised = lines
    .map((l) => [l.sku, l.size, l.quantity] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
  const digest = createHash('sha256').update(JSON.stringify(['amp-checkout-v1', claims.sub, claims.msg, normalised])).digest('hex');
  return `amp-${kind}:${digest}`;
}

/**
 * An AMP checkout form as the one checkout (checkout.ts) takes it: the token's claims are the
 * message's scope, offer and attribution, the form's content names the key. The email is the
 * channel that queues the order's WhatsApp confirmation with it, and that sends a customer
 * without an address on to the shop's checkout with the item kept in the cart.
 */
export async function emailCheckout(deps: EmailCheckoutDeps, claims: AmpClaims, request: EmailCheckoutRequest): Promise<EmailCheckoutOutcome> {
  const kind = request.from === 'cart' ? 'cart' : 'buy';
  const outcome = await checkout(deps, {
    message: claims,
    purchase: request,
    offer: messageOffer(claims, deps.now()),
    currency: claims.cur,
    // The language of the email the customer bought from; the stored profile's otherwise.
    order: { channel: 'email', campaignId: claims.cmp, messageId: claims.msg, template: claims.tpl, locale: claims.loc },
    idempotencyKey: (lines) => (lines.length === 0 ? undefined : checkoutKey(claims, kind, lines)),
    earlierOrder: kind === 'cart' ? () => recentCartOrder(deps.store, claims, deps.now()) : undefined,
    keepItemForShop: true,
    confirmOnWhatsApp: true,
  });
  return outcome.kind === 'continue_in_shop' ? { ...outcome, checkoutUrl: shopCheckoutUrl(deps.shopUrl, claims) } : outcome;
}

async function recentCartOrder(store: Pick<Repositories, 'orders'>, claims: AmpClaims, now: Date): Promise<Order | undefined> {
  const orders = await store.orders.listByCustomer(claims.sub);
  return orders.find(
    (o) => o.messageId === claims.msg && o.idempotencyKey.startsWith('amp-cart:') && now.getTime() - Date.parse(o.createdAt) < CART_REPLAY_WINDOW_MS,
  );
}

function shopCheckoutUrl(shopUrl: string, claims: AmpClaims): string {
  const params: CampaignParams = { source: 'inboxcart', medium: 'email', campaign: claims.cmp ?? claims.tpl, content: claims.tpl };
  return withCampaignParams(new URL('checkout', shopUrl), params);
}
