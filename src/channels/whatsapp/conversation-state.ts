import { randomBytes } from 'node:crypto';
import type { Conversation } from '../../store/conversations-repository.ts';
import type { JsonObject } from '../../store/json-column.ts';

/**
 * Where a customer is in the purchase. `idle` waits for anything (greets, offers cart and
 * help); `product` → `size` → `quantity` → `confirm` is the purchase of one item; `cart` shows
 * the shared cart and waits for "check out", which leads to `confirm` for the whole cart;
 * `done` remembers the order so a second "yes" is answered, not ordered twice.
 */
export type Step = 'idle' | 'product' | 'size' | 'quantity' | 'cart' | 'confirm' | 'done';

export interface FlowState {
  /**
   * Identifies one purchase attempt. Button payloads carry it, so a button from an earlier
   * attempt is recognised as stale, and the order's idempotency key includes it.
   */
  flowId: string;
  step: Step;
  /** What is being bought: one item chosen in the chat, or the customer's whole cart. */
  mode?: 'item' | 'cart';
  /** The campaign message the conversation started from, for revenue attribution. */
  messageId?: string;
  /** Products the message offered (picks), for the product step. */
  offer?: string[];
  /** The discount the message showed, charged on its products while it is valid. */
  discount?: { percentOff: number; expiresAt?: number };
  sku?: string;
  size?: string;
  quantity?: number;
  /** The size the message pre-selected (price-drop "Buy"), offered first. */
  preferredSize?: string;
  /** The cart lines the confirm prompt showed; if the cart changed since, the customer confirms again. */
  cartDigest?: string;
  orderId?: string;
  orderNumber?: string;
}

/** Abandoned conversations expire; the next message starts over with a greeting. */
export const CONVERSATION_TTL_MS = 24 * 3_600_000;

export function newFlowId(): string {
  return randomBytes(6).toString('base64url');
}

export function idleState(): FlowState {
  return { flowId: newFlowId(), step: 'idle' };
}

const STEPS: readonly Step[] = ['idle', 'product', 'size', 'quantity', 'cart', 'confirm', 'done'];

/** The stored state, or a fresh idle one when there is none or it expired. */
export function loadState(conversation: Conversation | undefined, now: Date): { state: FlowState; expired: boolean } {
  if (!conversation) return { state: idleState(), expired: false };
  if (Date.parse(conversation.expiresAt) <= now.getTime()) return { state: idleState(), expired: true };
  const s = conversation.state as Partial<FlowState>;
  const step = STEPS.includes(conversation.step as Step) ? (conversation.step as Step) : 'idle';
  if (typeof s.flowId !== 'string') return { state: idleState(), expired: false };
  return {
    state: {
      flowId: s.flowId,
      step,
      ...(s.mode === 'item' || s.mode === 'cart' ? { mode: s.mode } : {}),
      ...(typeof s.messageId === 'string' ? { messageId: s.messageId } : {}),
      ...(Array.isArray(s.offer) ? { offer: s.offer.filter((x): x is string => typeof x === 'string') } : {}),
      ...(s.discount && typeof s.discount.percentOff === 'number'
        ? { discount: { percentOff: s.discount.percentOff, ...(typeof s.discount.expiresAt === 'number' ? { expiresAt: s.discount.expiresAt } : {}) } }
        : {}),
      ...(typeof s.sku === 'string' ? { sku: s.sku } : {}),
      ...(typeof s.size === 'string' ? { size: s.size } : {}),
      ...(typeof s.quantity === 'number' ? { quantity: s.quantity } : {}),
      ...(typeof s.preferredSize === 'string' ? { preferredSize: s.preferredSize } : {}),
      ...(typeof s.cartDigest === 'string' ? { cartDigest: s.cartDigest } : {}),
      ...(typeof s.orderId === 'string' ? { orderId: s.orderId } : {}),
      ...(typeof s.orderNumber === 'string' ? { orderNumber: s.orderNumber } : {}),
    },
    expired: false,
  };
}

export function toJson(state: FlowState): JsonObject {
  const { step: _step, ...rest } = state;
  return JSON.parse(JSON.stringify(rest)) as JsonObject;
}
