import { contentClaimsJson, type AmpMessageContent } from './amp-claims.ts';
import type { CartView, ProductView } from './message-product-view.ts';
import type { OfferView } from '../personalize/offer-policy.ts';

/** A message content with its claims' JSON, made once for all the messages that share it. */
export interface SharedAmpContent {
  content: AmpMessageContent;
  json: string;
}

/**
 * What an AMP email's access token binds (commerce/amp-claims.ts): the products it shows in
 * display order, the offer it shows for them, its market and language, and the cart it shows.
 */
export function ampContent(products: readonly ProductView[], offer: OfferView | undefined, currency: string, intlLocale: string, cart: CartView | undefined): SharedAmpContent {
  const percentOff = offer?.percentOff;
  const content: AmpMessageContent = Object.freeze({
    skus: products.map((p) => p.sku),
    percentOff,
    offerExpiresAt: percentOff ? offer!.expiresAt : undefined,
    currency,
    locale: intlLocale,
    cart: cart?.items.map((l) => ({ sku: l.sku, size: l.size, quantity: l.quantity })),
  });
  return Object.freeze({ content, json: contentClaimsJson(content) });
}

/** The AMP endpoints an email's forms and lists call, each with the message's token. */
export function ampUrls(ampBase: string, token: string): { offers: string; cart: string; checkout: string; survey: string } {
  return { offers: `${ampBase}offers?token=${token}`, cart: `${ampBase}cart?token=${token}`, checkout: `${ampBase}checkout?token=${token}`, survey: `${ampBase}survey?token=${token}` };
}
