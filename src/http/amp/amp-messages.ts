import { interpolate, resolveLocale, type LocaleTables } from '../../templates/locale-strings.ts';

export type AmpMessageKey =
  | 'invalidToken'
  | 'expiredToken'
  | 'checkFields'
  | 'chooseSize'
  | 'outOfStock'
  | 'notEnoughStock'
  | 'unknownProduct'
  | 'unknownSize'
  | 'cartEmpty'
  | 'cartChanged'
  | 'mixedCurrency'
  | 'noSurvey'
  | 'tooLarge'
  | 'unavailable'
  | 'lookAdded';

/** Turns a message key and values into the customer's language. */
export type Say = (locale: string | undefined, key: AmpMessageKey, values?: Record<string, unknown>) => string;

/**
 * Customer-facing messages of the AMP endpoints, from the `amp.server` strings of
 * templates/locales. A mail client shows `error.message` in the email itself (the
 * submit-error template), so they are written for the reader, in the email's language.
 */
export function ampMessages(locales: LocaleTables): Say {
  return (locale, key, values = {}) => {
    const { locale: resolved } = resolveLocale(locale ?? 'en', locales);
    const text = locales.get(resolved)?.get(`amp.server.${key}`) ?? locales.get('en')?.get(`amp.server.${key}`);
    return text === undefined ? FALLBACK[key] : interpolate(text, values);
  };
}

// Used only if the locale files lack a string, so a message never degrades to its key.
const FALLBACK: Record<AmpMessageKey, string> = {
  invalidToken: 'This email link is not valid. Open the shop to continue.',
  expiredToken: 'This email has expired. Open the shop to continue.',
  checkFields: 'Please check your choice and try again.',
  chooseSize: 'Please choose a size.',
  outOfStock: 'Sorry, this item just sold out.',
  notEnoughStock: 'Sorry, not enough left in this size.',
  unknownProduct: 'Sorry, this item is no longer available.',
  unknownSize: 'Sorry, this size is not available.',
  cartEmpty: 'Your cart is empty.',
  cartChanged: 'Your cart changed since this email was sent. Please check it and try again.',
  mixedCurrency: 'These items cannot be bought together. Please check out in the shop.',
  noSurvey: 'This email has no questions to answer.',
  tooLarge: 'That was more than this form accepts.',
  unavailable: 'Something went wrong on our side. Please try again in a moment or open the shop.',
  lookAdded: 'The look is in your cart.',
};
