import type { MessageOffer } from '../../commerce/amp-claims.ts';
import type { CheckoutRequest, Purchase } from '../../shop/checkout.ts';
import { linesDigest } from '../../shop/lines-digest.ts';
import type { FlowState } from './conversation-state.ts';

/**
 * The chat's purchases as the one checkout (shop/checkout.ts) takes them: what a
 * conversation state buys, the order's key, and the request. The engine turns the outcomes
 * into replies; it runs in the inbound message's transaction, which the order joins.
 */

/** What the state buys now: the cart as it is, or the item once its size and quantity are chosen. */
export function chatPurchase(state: FlowState): Purchase | undefined {
  if (state.mode === 'cart') return { from: 'cart' };
  return state.sku && state.size !== undefined && state.quantity ? { from: 'item', sku: state.sku, size: state.size, quantity: state.quantity } : undefined;
}

/**
 * What the customer said yes to: the cart whose digest the confirm step saved (a cart that
 * changed since is refused), or the item. Undefined when the state names nothing confirmed.
 */
export function confirmedPurchase(state: FlowState): Purchase | undefined {
  if (state.mode === 'cart') return state.cartDigest === undefined ? undefined : { from: 'cart', confirmed: state.cartDigest };
  return chatPurchase(state);
}

/**
 * The idempotency key of the purchase the confirm step showed: the flow and what the customer
 * confirmed (the cart digest saved at the confirm step, or the item), never the cart or the
 * stock as they are now. A retried "yes" (a webhook retry after a crash, a double tap, a
 * re-decision after a concurrent save) then finds the same order, also after that order
 * emptied the cart or took the last unit. (The conversation version must not be part of
 * it: a save by another message between the order and this turn's save re-runs the decision
 * one version later.) Undefined when the state names nothing to buy.
 */
export function chatOrderKey(customerId: string, state: FlowState): string | undefined {
  const confirmed =
    state.mode === 'cart'
      ? state.cartDigest
      : state.sku && state.size !== undefined && state.quantity
        ? linesDigest([{ sku: state.sku, size: state.size, quantity: state.quantity }])
        : undefined;
  return confirmed === undefined ? undefined : `whatsapp:${customerId}:${state.flowId}:${confirmed}`;
}

/**
 * The checkout request of `purchase` in conversation `state`: the signed tap's products are the
 * message's scope, the message's discount applies while it is valid, the key is the flow's.
 */
export function chatCheckoutRequest(customerId: string, state: FlowState, purchase: Purchase, now: Date): CheckoutRequest {
  return {
    message: { sub: customerId, skus: [...(state.sku ? [state.sku] : []), ...(state.offer ?? [])] },
    purchase,
    offer: activeDiscount(state, now),
    order: { channel: 'whatsapp', messageId: state.messageId || undefined },
    idempotencyKey: () => chatOrderKey(customerId, state),
    keepItemForShop: false,
    confirmOnWhatsApp: false,
  };
}

/**
 * The message's discount while it is valid, for one-item purchases that came from the message
 * (a cart checkout is priced like the shop's cart: its lines did not all come from one message).
 */
export function activeDiscount(state: FlowState, now: Date): MessageOffer | undefined {
  const d = state.discount;
  if (!d || state.mode === 'cart' || !state.sku && !state.offer) return undefined;
  if (d.expiresAt !== undefined && d.expiresAt * 1000 <= now.getTime()) return undefined;
  return { percentOff: d.percentOff, skus: new Set([...(state.offer ?? []), ...(state.sku ? [state.sku] : [])]) };
}
