import { signPayload, verifyPayload, type SigningKey } from '../../commerce/signed-token.ts';
import { fromPayloadField } from './payload-field.ts';

/**
 * What a tap means. Button and list ids are opaque signed values (signed-token.ts
 * `signPayload`): a tap is trusted for what its id says, never for the label the customer saw
 * (`ButtonText` / `ListTitle` travel unsigned and can be typed by anyone).
 *
 * Two families exist. Message payloads come from rendered templates (build-view.ts):
 * `buy:SKU:SIZE:MSG`, `pick:SKU:MSG`, `picks:MSG|SKU|…`, `cart:MSG`, `later:MSG`, `stop:MSG`, with
 * SKU and SIZE encoded by payload-field.ts.
 * Conversation payloads are made here for the chat's own buttons: `c|FLOW|ACTION|VALUE`, where
 * FLOW ties the tap to one purchase attempt.
 */
/** The discount a campaign message showed (build-view.ts `offerTag`). */
export interface TapOffer {
  percentOff: number;
  /** Epoch seconds; absent when the offer does not expire. */
  expiresAt?: number;
}

export type Tap =
  | { kind: 'buy'; sku: string; size: string; messageId: string; offer?: TapOffer }
  | { kind: 'pick'; sku: string; messageId?: string; flowId?: string; offer?: TapOffer }
  | { kind: 'picks'; skus: string[]; messageId: string; offer?: TapOffer }
  | { kind: 'cart'; messageId: string }
  | { kind: 'later' }
  | { kind: 'stop' }
  | { kind: 'showCart' }
  | { kind: 'help' }
  | { kind: 'size'; flowId: string; size: string }
  | { kind: 'quantity'; flowId: string; quantity: number }
  | { kind: 'yes' | 'change' | 'cancel' | 'checkout'; flowId: string };

export function parseTap(value: string, keys: readonly SigningKey[]): Tap | undefined {
  const data = verifyPayload(value, keys);
  if (data === undefined) return undefined;
  if (data.startsWith('c|')) {
    const [, flowId = '', action = '', ...rest] = data.split('|');
    const v = rest.join('|');
    switch (action) {
      case 'size':
        return { kind: 'size', flowId, size: v };
      case 'qty': {
        const quantity = Number(v);
        return Number.isSafeInteger(quantity) && quantity > 0 ? { kind: 'quantity', flowId, quantity } : undefined;
      }
      case 'pick':
        return { kind: 'pick', sku: v, flowId };
      case 'yes':
      case 'change':
      case 'cancel':
      case 'checkout':
        return { kind: action, flowId };
      case 'cart':
        return { kind: 'showCart' };
      case 'help':
        return { kind: 'help' };
      default:
        return undefined;
    }
  }
  const colon = data.indexOf(':');
  const kind = data.slice(0, colon);
  const rest = data.slice(colon + 1);
  // SKUs and sizes come first (encoded, so without ':'); a message id may contain ':'.
  const parts = rest.split(':');
  switch (kind) {
    case 'buy':
      return parts.length >= 3
        ? { kind: 'buy', sku: fromPayloadField(parts[0]!), size: fromPayloadField(parts[1]!), ...messageAndOffer(parts.slice(2).join(':')) }
        : undefined;
    case 'pick':
      return parts.length >= 2 ? { kind: 'pick', sku: fromPayloadField(parts[0]!), ...messageAndOffer(parts.slice(1).join(':')) } : undefined;
    case 'picks': {
      const [message = '', ...skus] = rest.split('|');
      return { kind: 'picks', ...messageAndOffer(message), skus: skus.filter(Boolean).map(fromPayloadField) };
    }
    case 'cart':
      return { kind: 'cart', messageId: rest };
    case 'later':
      return { kind: 'later' };
    case 'stop':
      return { kind: 'stop' };
    default:
      return undefined;
  }
}

function messageAndOffer(value: string): { messageId: string; offer?: TapOffer } {
  const [messageId = '', percent, expires] = value.split('!');
  const percentOff = Number(percent);
  if (percent === undefined || !Number.isInteger(percentOff) || percentOff < 1 || percentOff > 90) return { messageId };
  const expiresAt = expires ? Number(expires) : undefined;
  return { messageId, offer: { percentOff, ...(expiresAt !== undefined && Number.isSafeInteger(expiresAt) ? { expiresAt } : {}) } };
}

export type ChatAction = 'size' | 'qty' | 'pick' | 'yes' | 'change' | 'cancel' | 'checkout' | 'cart' | 'help';

/** A signed id for one of the chat's own buttons or list rows. */
export function chatPayload(keys: readonly SigningKey[], flowId: string, action: ChatAction, value = ''): string {
  return signPayload(`c|${flowId}|${action}${value ? `|${value}` : ''}`, keys);
}
