/**
 * What a customer's free text means to the conversation. Customers type in their own language
 * and not always with its letters ("evet", "hayir" for "hayır", "hjalp"), so words are compared
 * folded: Unicode-normalised, accents and dots removed, Turkish dotted and dotless i treated
 * alike, trailing punctuation dropped. Every locale's words are accepted whatever the
 * customer's locale: nobody is misunderstood for answering "ja" to an English prompt.
 */

export type Keyword = 'stop' | 'start' | 'help' | 'yes' | 'no' | 'cancel' | 'cart' | 'change' | 'checkout';

/**
 * Opt-out and opt-in words: Twilio's SMS defaults (STOP, STOPALL, UNSUBSCRIBE; START, UNSTOP),
 * which Twilio does not apply on WhatsApp (facts §5), and their Turkish and Swedish
 * counterparts. CANCEL, which Twilio's SMS list also counts, is left to the conversation here:
 * "cancel" / "iptal" / "avbryt" ends an order in progress, not the subscription.
 */
const KEYWORDS: Record<Keyword, readonly string[]> = {
  stop: ['stop', 'stopall', 'unsubscribe', 'dur', 'avsluta'],
  start: ['start', 'unstop', 'basla', 'borja'],
  help: ['help', 'info', 'yardim', 'hjalp'],
  yes: ['yes', 'y', 'yep', 'yeah', 'ok', 'okay', 'sure', 'evet', 'tamam', 'olur', 'ja', 'japp', 'jo', 'garna'],
  no: ['no', 'n', 'nope', 'hayir', 'nej'],
  cancel: ['cancel', 'iptal', 'vazgec', 'avbryt'],
  cart: ['cart', 'basket', 'my cart', 'sepet', 'sepetim', 'varukorg', 'varukorgen'],
  change: ['change', 'change address', 'degistir', 'adresi degistir', 'andra', 'andra adress'],
  checkout: ['checkout', 'check out', 'buy', 'buy now', 'odemeye gec', 'satin al', 'till kassan', 'kassan', 'kop', 'kop nu'],
};

const BY_WORD = new Map<string, Keyword>(Object.entries(KEYWORDS).flatMap(([k, words]) => words.map((w) => [w, k as Keyword] as const)));

/**
 * Folds text for comparison.
 *
 * @example
 * fold('  HAYIR! ') // 'hayir'
 * fold('Hjälp')     // 'hjalp'
 * fold('İPTAL')     // 'iptal'
 */
export function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[İIı]/g, 'i')
    .toLowerCase()
    .replace(/[\s\u00a0]+/g, ' ')
    .trim()
    .replace(/[.!?¡¿,;:]+$/u, '')
    .trim();
}

/** The keyword the whole message is, if any ("Yes!", "evet", "STOP"). */
export function keywordOf(text: string): Keyword | undefined {
  return BY_WORD.get(fold(text));
}

/** A small whole number the message is, alone or with a unit ("2", "2x", "2 adet", "2 st"). */
export function numberOf(text: string): number | undefined {
  const m = /^(\d{1,3})\s*(x|pcs|pieces|adet|tane|st|stk|styck)?$/.exec(fold(text));
  return m ? Number(m[1]) : undefined;
}

/** The option whose label equals the text when folded: size "m" → "M", "38" → "38". */
export function matchLabel<T>(text: string, options: readonly T[], label: (o: T) => string): T | undefined {
  const f = fold(text);
  if (!f) return undefined;
  return options.find((o) => fold(label(o)) === f);
}

/** The one option whose label contains the text (at least three characters); none if ambiguous. */
export function matchPartial<T>(text: string, options: readonly T[], label: (o: T) => string): T | undefined {
  const f = fold(text);
  if (f.length < 3) return undefined;
  const hits = options.filter((o) => fold(label(o)).includes(f));
  return hits.length === 1 ? hits[0] : undefined;
}

/** Locale for a phone number we have no customer for: the country code is the best guess. */
export function localeForPhone(phone: string): string {
  if (phone.startsWith('+90')) return 'tr';
  if (phone.startsWith('+46')) return 'sv';
  return 'en';
}
