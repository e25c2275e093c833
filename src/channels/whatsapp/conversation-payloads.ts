import { signPayload, verifyPayload, type SigningKey } from '../../commerce/signed-token.ts';
import { fromPayloadField } from '../../render/whatsapp/payload-field.ts';

/**
 * What a tap means. Button and list ids are opaque signed values (signed-token.ts
 * `signPayload`): a tap is trusted for what its id says, never for the label the customer saw
 * (`ButtonText` / `ListTitle` travel unsigned and can be typed by anyone).
 *
 * Two families exist. Message payloads come from rendered templates
 * (render/whatsapp/message-payloads.ts): `buy@OWNER:SKU:SIZE:MSG`, `pick@OWNER:SKU:MSG`,
 * `picks@OWNER:MSG|SKU|…`, `cart@OWNER:MSG|AT|LINES`, `later@OWNER:MSG`, `stop@OWNER:MSG`, with
 * SKU and SIZE encoded by render/whatsapp/payload-field.ts; OWNER names the customer the message
 * was rendered for. Those signed before OWNER existed parse with `owner` absent (see `boundTo`).
 * Conversation payloads are made here for the chat's own buttons: `c|FLOW|ACTION|VALUE`, where
 * FLOW ties the tap to one purchase attempt of the customer's own conversation.
 */
/** The discount a campaign message showed (build-view.ts `offerTag`). */
export interface TapOffer {
  percentOff: number;
  /** Epoch seconds; absent when the offer does not expire. */
  expiresAt?: number;
}

/** The cart an abandoned-cart message showed: its lines, or their digest when they did not fit. */
export type TapCart = { at: number; lines: [sku: string, size: string, quantity: number][] } | { at: number; digest: string };

export type Tap =
  | { kind: 'buy'; sku: string; size: string; messageId: string; offer?: TapOffer; owner?: string }
  | { kind: 'pick'; sku: string; messageId?: string; flowId?: string; offer?: TapOffer; owner?: string }
  | { kind: 'picks'; skus: string[]; messageId: string; offer?: TapOffer; owner?: string }
  | { kind: 'cart'; messageId: string; shown?: TapCart; owner?: string }
  | { kind: 'later'; owner?: string }
  | { kind: 'stop'; owner?: string }
  | { kind: 'showCart' }
  | { kind: 'help' }
  | { kind: 'size'; flowId: string; size: string }
  | { kind: 'quantity'; flowId: string; quantity: number }
  | { kind: 'yes' | 'change' | 'cancel' | 'checkout'; flowId: string };

/**
 * Whom a message payload was rendered for: its OWNER (render/whatsapp/message-payloads.ts
 * `payloadOwner`), or null for one signed before payloads were bound. Undefined for the chat's
 * own payloads: their FLOW must be the sender's current one, which binds them to the sender's
 * conversation.
 */
export function boundTo(tap: Tap): string | null | undefined {
  switch (tap.kind) {
    case 'buy':
    case 'picks':
    case 'cart':
    case 'later':
    case 'stop':
      return tap.owner ?? null;
    case 'pick':
      return tap.flowId === undefined ? (tap.owner ?? null) : undefined;
    default:
      return undefined;
  }
}

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
  const [kind = '', owner] = data.slice(0, colon).split('@');
  const bound = owner ? { owner } : {};
  const rest = data.slice(colon + 1);
  // SKUs and sizes come first (encoded, so without ':'); a message id may contain ':'.
  const parts = rest.split(':');
  switch (kind) {
    case 'buy':
      return parts.length >= 3
        ? { kind: 'buy', sku: fromPayloadField(parts[0]!), size: fromPayloadField(parts[1]!), ...messageAndOffer(parts.slice(2).join(':')), ...bound }
        : undefined;
    case 'pick':
      return parts.length >= 2 ? { kind: 'pick', sku: fromPayloadField(parts[0]!), ...messageAndOffer(parts.slice(1).join(':')), ...bound } : undefined;
    case 'picks': {
      const [message = '', ...skus] = rest.split('|');
      return { kind: 'picks', ...messageAndOffer(message), skus: skus.filter(Boolean).map(fromPayloadField), ...bound };
    }
    case 'cart': {
      // Message ids cannot contain '|' (render-input.ts), and the line fields are encoded.
      const [messageId = '', at, ...lines] = rest.split('|');
      if (at === undefined) return { kind: 'cart', messageId, ...bound };
      const shown = cartShown(Number(at), lines);
      return shown ? { kind: 'cart', messageId, shown, ...bound } : undefined;
    }
    case 'later':
      return { kind: 'later', ...bound };
    case 'stop':
      return { kind: 'stop', ...bound };
    default:
      return undefined;
  }
}

function cartShown(at: number, lines: string[]): TapCart | undefined {
  if (!Number.isSafeInteger(at)) return undefined;
  if (lines.length === 1 && lines[0]!.startsWith('#')) return { at, digest: lines[0]!.slice(1) };
  const out: [string, string, number][] = [];
  for (const line of lines) {
    const [sku, size, quantity] = line.split(':');
    const n = Number(quantity);
    if (!sku || size === undefined || !Number.isSafeInteger(n) || n < 1) return undefined;
    out.push([fromPayloadField(sku), fromPayloadField(size), n]);
  }
  return { at, lines: out };
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
