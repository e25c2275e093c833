/**
 * The fragment cache: rendered product cards, shared between recipients whose lists differ.
 *
 * Product cards are most of an email's bytes, and products repeat across recipients even when
 * no two lists are alike. At compile time each part's `{{#each products}}` body became a card
 * template of its own, with the list of everything it reads (templates/split-product-cards.ts).
 * A card's key is written out from that list and nothing else:
 *
 *   [template hash, part, part locale, block,
 *    …the product fields the card reads, …the root fields it reads (directly or through a
 *    helper: HELPER_ROOT_READS), …the `@index`/`@first`/`@last` it reads]
 *
 * The template hash fixes the template, its partials, the brand and the baked strings; the
 * part locale fixes which strings were baked. Root values that differ per recipient and that
 * the card only prints (the AMP endpoint URLs with the recipient's token) are holes: the card
 * is rendered with a marker in their place, cut there, and each recipient's escaped value is
 * put back. Product fields the card only prints, gives to `t` or tests for presence (the
 * reason, the selected size) are holes too, keyed by their presence alone and filled in per
 * card: recipients shown the same product for another reason or in another size share it.
 * The render's output is byte for byte the full render's (test/render/fragment-cache.test.ts).
 *
 * A card whose keyed data or filled values contain the marker character is rendered in full,
 * not cached.
 */
import Handlebars from 'handlebars';
import { LRUCache } from 'lru-cache';
import type { CardPart, CardPartName, CardTemplate, Render } from '../templates/split-product-cards.ts';
import { HitRateGate } from './hit-rate-gate.ts';

interface FragmentEntry {
  /** The card cut at its holes: segments[0] hole[0] segments[1] … */
  segments: string[];
  holes: number[];
  /** Warnings the card's helpers raised (a missing string), repeated on every use. */
  warnings: string[];
}

const CARD_GATE = { window: 256, minHitRate: 0.5, probeEvery: 16 };

/** Marks hole i as HOLE + 'a' + i; a private-use character no template produces. */
const HOLE = '\uE010';

/**
 * Bounded by size: ~24 MB of UTF-16 holds ~10,000 cards of every part (HTML ~2 KB, AMP
 * ~4 KB, text ~0.3 KB each), several times a campaign's hot products × markets × offers.
 *
 * A card is kept the second time its key is met (`admit`): in the personal benchmark 86 % of
 * AMP cards (they read their position and each size's stock) are never met again, and kept at
 * first sight they evicted the HTML and text cards that do repeat (44 % and 84 % of them).
 * Keys met once are remembered by a 32-bit hash: a collision only keeps one card early. 50,000
 * of them take ~3 MB (17,878 after 20,000 personal recipients took 1 MB), where 200,000 would
 * have grown every render thread by ~11 MB over a long campaign.
 */
export class FragmentCache {
  private readonly entries: LRUCache<string, FragmentEntry>;
  private readonly seen: LRUCache<number, true>;
  /** `skipped`: part renders a closed gate sent straight to the one-pass render. */
  readonly stats = { hits: 0, misses: 0, bypassed: 0, skipped: 0 };
  /**
   * Per part, whether cards repeat enough to pay for their keys (hit-rate-gate.ts). Measured
   * in the personal benchmark: a card's key, lookup and cut cost about what rendering an HTML
   * card costs (~12 µs), so below half of the lookups hitting the one-pass render is faster.
   */
  readonly gates: Record<CardPartName, HitRateGate> = {
    html: new HitRateGate(CARD_GATE),
    amp: new HitRateGate(CARD_GATE),
    text: new HitRateGate(CARD_GATE),
  };

  constructor(maxBytes = 24 * 2 ** 20, maxSeen = 50_000) {
    this.entries = new LRUCache<string, FragmentEntry>({
      maxSize: maxBytes,
      sizeCalculation: (e, key) => 2 * (key.length + e.segments.reduce((n, s) => n + s.length, 0)) + 64,
    });
    this.seen = new LRUCache<number, true>({ max: maxSeen });
  }

  /** Whether a missed card should be kept: the second time its key is met. */
  admit(key: string): boolean {
    const h = hash32(key);
    if (this.seen.has(h)) {
      this.seen.delete(h);
      return true;
    }
    this.seen.set(h, true);
    return false;
  }

  get(key: string): FragmentEntry | undefined {
    const e = this.entries.get(key);
    if (e) this.stats.hits++;
    else this.stats.misses++;
    return e;
  }

  set(key: string, entry: FragmentEntry): void {
    this.entries.set(key, entry);
  }
}

/** Which template version, part and locale the fragments of one part render belong to. */
export interface FragmentScope {
  cache: FragmentCache;
  templateHash: string;
  /** The locale of the compiled part (its baked strings). */
  locale: string;
}

interface CardRoot {
  products: readonly object[];
  warnings: string[];
}

/**
 * Renders one email part: through its card templates and the fragment cache when it has
 * any, else (or without a cache) in one pass as before.
 */
export function renderPart<V extends CardRoot>(part: CardPartName, full: Render, split: CardPart | undefined, view: V, scope: FragmentScope | undefined): string {
  if (!split || !scope) return full(view);
  const gate = scope.cache.gates[part];
  if (!gate.tries()) {
    scope.cache.stats.skipped++;
    return full(view);
  }
  const fragments: Record<string, string> = {};
  // Text parts are compiled without escaping: what they print goes in as it is.
  const escape = part === 'text' ? asText : Handlebars.Utils.escapeExpression;
  for (let b = 0; b < split.cards.length; b++) fragments[`c${b}`] = renderCards(keyValue(scope.templateHash) + keyValue(part) + keyValue(scope.locale) + keyValue(b), split.cards[b]!, view, scope, gate, escape);
  return split.main({ ...view, fragments });
}

function asText(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

function renderCards(prefix: string, card: CardTemplate, view: CardRoot, scope: FragmentScope, gate: HitRateGate, escape: (v: string) => string): string {
  const products = view.products;
  const n = products.length;
  let out = '';
  let holeValues: string[] | undefined;
  let holeRoot: (CardRoot & Record<string, unknown>) | undefined;
  for (let i = 0; i < n; i++) {
    const product = products[i]!;
    const data = { index: i, first: i === 0, last: i === n - 1, key: i };
    const key = cardKey(prefix, card, product, view, data);
    if (key.includes(HOLE) || holeValueHasMark(card, product)) {
      scope.cache.stats.bypassed++;
      out += card.render(product, { data: { root: view, ...data } });
      continue;
    }
    let entry = scope.cache.get(key);
    gate.record(entry !== undefined);
    if (!entry && !scope.cache.admit(key)) {
      out += card.render(product, { data: { root: view, ...data } });
      continue;
    }
    if (!entry) {
      holeRoot ??= withHoles(view, card.holePaths);
      holeRoot.warnings = [];
      entry = cut(card.render(withProductHoles(product, card), { data: { root: holeRoot, ...data } }), holeRoot.warnings);
      scope.cache.set(key, entry);
    }
    for (const w of entry.warnings) view.warnings.push(w);
    if (entry.holes.length === 0) {
      out += entry.segments[0];
      continue;
    }
    holeValues ??= card.holePaths.map((path) => escape(valueAt(view, path) as string));
    const rootHoles = holeValues.length;
    const fields = card.reads.productHoles;
    out += entry.segments[0];
    for (let h = 0; h < entry.holes.length; h++) {
      const hole = entry.holes[h]!;
      // Root holes first, then the product's own (withProductHoles numbers them after the root's).
      const filled = hole < rootHoles ? holeValues[hole]! : escape((product as Record<string, unknown>)[fields[hole - rootHoles]!] as string);
      out += filled + entry.segments[h + 1]!;
    }
  }
  return out;
}

/**
 * The key, written out (see the module comment): `prefix` is template hash, part, locale and
 * block; then the values in the order of `reads`.
 */
function cardKey(prefix: string, card: CardTemplate, product: object, view: object, data: Record<string, unknown>): string {
  let key = prefix;
  const reads = card.reads;
  if (reads.product === 'all') key += keyValue(product);
  else for (const field of reads.product) key += keyValue((product as Record<string, unknown>)[field]);
  for (const field of reads.productHoles) key += presenceKey((product as Record<string, unknown>)[field]);
  for (const path of card.rootPaths) key += keyValue(valueAt(view, path));
  for (const name of reads.data) key += keyValue(data[name]);
  return key;
}

/**
 * A product hole as a piece of the key: whether it is there, as the card's `if`s and
 * printing tell it apart (absent, null and empty text each print or interpolate differently).
 * A value that is not text is keyed by value and not filled in (withProductHoles leaves it).
 */
function presenceKey(v: unknown): string {
  if (typeof v === 'string') return v === '' ? 'e' : 'p';
  return `v${keyValue(v)}`;
}

/** The product with each present text hole replaced by its marker, numbered after the root holes. */
function withProductHoles(product: object, card: CardTemplate): object {
  const fields = card.reads.productHoles;
  if (fields.length === 0) return product;
  const marked: Record<string, unknown> = { ...product };
  fields.forEach((field, k) => {
    const v = marked[field];
    if (typeof v === 'string' && v !== '') marked[field] = HOLE + String.fromCharCode(0x61 + card.holePaths.length + k);
  });
  return marked;
}

/** Whether a value filled into a product hole contains the marker character (then the card is rendered in full). */
function holeValueHasMark(card: CardTemplate, product: object): boolean {
  for (const field of card.reads.productHoles) {
    const v = (product as Record<string, unknown>)[field];
    if (typeof v === 'string' && v.includes(HOLE)) return true;
  }
  return false;
}

/**
 * A value as a self-delimiting piece of a key: strings and JSON carry their length, so no
 * value can run into the next. Measured: ~1 µs for an AMP card's 16 fields, where one
 * JSON.stringify of them took ~5 µs, a third of rendering the card.
 */
function keyValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return `s${v.length}:${v}`;
    case 'number':
      return `n${v};`;
    case 'boolean':
      return v ? 't' : 'f';
    case 'undefined':
      return 'u';
    default: {
      if (v === null) return 'z';
      const json = JSON.stringify(v);
      return `j${json.length}:${json}`;
    }
  }
}

function valueAt(o: unknown, path: readonly string[]): unknown {
  let v = o;
  for (const p of path) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[p];
  return v;
}

/** A copy of the view with each hole's value replaced by its marker (objects on the way copied). */
function withHoles(view: CardRoot, holes: readonly string[][]): CardRoot & Record<string, unknown> {
  const root: Record<string, unknown> = { ...view };
  holes.forEach((path, h) => {
    let o = root;
    for (let d = 0; d < path.length - 1; d++) {
      const next = { ...(o[path[d]!] as Record<string, unknown>) };
      o[path[d]!] = next;
      o = next;
    }
    o[path[path.length - 1]!] = HOLE + String.fromCharCode(0x61 + h);
  });
  return root as CardRoot & Record<string, unknown>;
}

/** FNV-1a over UTF-16 code units. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function cut(text: string, warnings: string[]): FragmentEntry {
  const segments: string[] = [];
  const holes: number[] = [];
  let from = 0;
  for (let at = text.indexOf(HOLE); at !== -1; at = text.indexOf(HOLE, from)) {
    segments.push(text.slice(from, at));
    holes.push(text.charCodeAt(at + 1) - 0x61);
    from = at + 2;
  }
  segments.push(text.slice(from));
  return { segments, holes, warnings };
}
