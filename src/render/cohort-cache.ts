/**
 * Renders shared by a cohort of recipients.
 *
 * A campaign sends the same template to millions of customers, and most of them share
 * everything the email depends on — locale, segments, offer, products, sizes — except a few
 * per-recipient values: first name, ids and the signed AMP and unsubscribe tokens. The email parts are
 * rendered once per cohort with markers in place of those values, split at the markers, and
 * each recipient costs a view, its JSON and a handful of string joins.
 *
 * Correctness rests on the key: it is the JSON of the whole view with the per-recipient
 * values replaced by markers, so any difference a template could see — including whether a
 * first name is present — makes a different cohort. Shared, immutable parts stand in by
 * identity (the product list) or are fixed by the template hash and locale (brand, strings). Templates can print recipient values but
 * cannot branch on them (they only see the markers); that is why only values that templates
 * print (name, ids, tokens) are markers. A view whose data already contains the marker
 * character is rendered without the cache.
 */

import type { RenderView } from './build-view.ts';
import { createHash } from 'node:crypto';
import { keyValue } from './interned.ts';
import { serialOf } from './object-serial.ts';
import { tidyText } from './tidy-text.ts';
import { MARK } from './markers.ts';
import { HitRateGate } from './hit-rate-gate.ts';
import { LRUCache } from 'lru-cache';

export { MARK, MARKERS } from './markers.ts';

export type MarkerValues = Record<'n' | 'p' | 'm' | 't' | 'u', string>;

/** A rendered part cut at its markers: segments[0] slot[0] segments[1] … */
export interface SplitPart {
  segments: string[];
  slots: (keyof MarkerValues)[];
}

/**
 * A part every recipient of a cohort shares, named: `id` (the cohort key's digest and the part)
 * is what the encoders key their work on (encode-result.ts, gzip-member.ts), so the bytes and
 * compressed forms of a segment are made once per cohort and found again by value.
 */
export interface SharedPart extends SplitPart {
  id: string;
}

export function splitAtMarkers(text: string): SplitPart {
  const segments: string[] = [];
  const slots: (keyof MarkerValues)[] = [];
  let from = 0;
  for (let at = text.indexOf(MARK); at !== -1; at = text.indexOf(MARK, from)) {
    segments.push(text.slice(from, at));
    slots.push(text[at + 1] as keyof MarkerValues);
    from = at + 2;
  }
  segments.push(text.slice(from));
  return { segments, slots };
}

export function fillMarkers(part: SplitPart, values: MarkerValues): string {
  let out = part.segments[0]!;
  for (let i = 0; i < part.slots.length; i++) out += values[part.slots[i]!] + part.segments[i + 1]!;
  return out;
}

/**
 * A value that filling in cannot make tidying or one-lining act differently: not empty, no
 * line break or tab, no run of blanks, no white space at either end. Then `tidy(fill(part)) === fill(tidy(part))`:
 * the value neither joins nor splits a run of blanks or newlines, and trimming stops at the
 * same characters.
 */
export function inertValue(value: string): boolean {
  return value !== '' && !/^\s|\s$|[\r\n\t]|\s\s/.test(value);
}

export function countMarks(text: string): number {
  let n = 0;
  for (let at = text.indexOf(MARK); at !== -1; at = text.indexOf(MARK, at + 1)) n++;
  return n;
}

export interface CohortEntry {
  subject: SplitPart;
  preheader: SplitPart;
  html: SharedPart;
  amp?: SharedPart;
  /** The text part before tidying: tidying runs after the values are in, as in a full render. */
  text: SplitPart;
  /**
   * The text part tidied with the markers in place: the same as tidying after filling in when
   * every value is "inert" (see `inertValue`), which spares most recipients the regex passes.
   */
  tidyText: SharedPart;
  /** Warnings the templates' helpers raised while rendering the cohort. */
  warnings: string[];
}

/**
 * Bounded by size, not entries: an entry holds one message, ~95,000 characters (subject to
 * tidied text of `recommendations` with 8 products, and its key; the segments are slices of the
 * rendered parts, which they keep), counted at 2 bytes a character as two-byte strings take
 * (accents, €): ~190 KB by that count, ~150 KB measured on the heap (9.5 MB for 63 cohorts of
 * the personal benchmark, `npm run bench -- --scenario personal --thread`). 24 MB holds ~130
 * such cohorts: a campaign's locale × segment × offer × size combinations that repeat (the
 * cohort benchmark has 18), where 512 entries could keep ~80 MB in every render thread. The
 * encoders keep about half as much again per cohort sent (encode-result.ts, gzip-member.ts).
 * The least recently used cohort goes first (a new campaign's cohorts simply take over).
 */
export class CohortCache {
  private readonly entries: LRUCache<string, CohortEntry>;
  /** `skipped`: renders the gate sent straight to the full render (hit-rate-gate.ts). */
  readonly stats = { hits: 0, misses: 0, bypassed: 0, skipped: 0 };
  /**
   * Whether looking cohorts up pays for the current campaign (hit-rate-gate.ts). Measured on
   * `--scenario personal` and `--scenario cohort`: a hit saves ~900 µs of a ~1,050 µs render
   * and a miss costs ~300 µs more, so the cache pays from about a quarter of hits.
   */
  readonly gate = new HitRateGate({ window: 64, minHitRate: 0.25, probeEvery: 16 });

  constructor(maxBytes = 24 * 2 ** 20) {
    this.entries = new LRUCache<string, CohortEntry>({ maxSize: maxBytes, sizeCalculation: entryBytes });
  }

  get(key: string): CohortEntry | undefined {
    const e = this.entries.get(key);
    if (e) this.stats.hits++;
    else this.stats.misses++;
    this.gate.record(e !== undefined);
    return e;
  }

  set(key: string, entry: CohortEntry): void {
    this.entries.set(key, entry);
  }
}

/** An entry's strings at 2 bytes a character, its key (the view's JSON) included. */
function entryBytes(e: CohortEntry, key: string): number {
  let chars = key.length;
  for (const part of [e.subject, e.preheader, e.html, e.amp, e.text, e.tidyText]) {
    if (part) for (const s of part.segments) chars += s.length;
  }
  return 2 * chars + 512;
}

/**
 * Every field of the view is either in the key or listed here with the reason it may be left
 * out; the type below fails to compile when a new view field is in neither list.
 */
const KEYED = [
  'template', 'variant', 'locale', 'intlLocale', 'lang', 'dir', 'currency', 'timezone', 'campaignParams',
  'firstName', 'profileId', 'segments', 'productsTotalText', 'offer', 'cart', 'order', 'loyalty',
  'location', 'preferences', 'links', 'amp', 'payloads', 'message', 'year',
] as const satisfies readonly (keyof RenderView)[];
const NOT_KEYED = [
  'brand', 'strings', 'fallbackStrings', // fixed by the template hash and the locale
  'warnings', // output, not input
  'segmentList', // derived from segments
  'products', 'hero', // the frozen, memoised product list: keyed by identity below; hero is its first item
] as const satisfies readonly (keyof RenderView)[];
type Unlisted = Exclude<keyof RenderView, (typeof KEYED)[number] | (typeof NOT_KEYED)[number]>;
const everyFieldListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyFieldListed;

/**
 * The cohort key of a marker view, or undefined when the markers do not appear exactly
 * `expectedMarks` times (some data already contains the marker character).
 */
export function cohortKey(templateHash: string, view: RenderView, expectedMarks: number): string | undefined {
  const values: unknown[] = [serialOf(view.products)];
  for (const field of KEYED) values.push(keyValue(view[field]));
  const json = JSON.stringify(values);
  if (countMarks(json) !== expectedMarks) return undefined;
  return `${templateHash}\u0000${json}`;
}

/** A cohort render with the markers in: the parts as the templates wrote them, and the helpers' warnings. */
export interface CohortRender {
  subject: string;
  preheader: string;
  html: string;
  amp?: string;
  text: string;
  warnings: string[];
}

/** The cohort's entry: from the cache, or rendered (`render`), split at the markers and stored. */
export function cohortEntry(cohorts: CohortCache, key: string, found: CohortEntry | undefined, render: () => CohortRender): CohortEntry {
  if (found) return found;
  const r = render();
  // The digest names the cohort's parts for the encoders; equal keys mean equal parts.
  const id = createHash('sha256').update(key).digest('base64url').slice(0, 22);
  const entry: CohortEntry = {
    subject: splitAtMarkers(r.subject),
    preheader: splitAtMarkers(r.preheader),
    html: { ...splitAtMarkers(r.html), id: `${id}.html` },
    amp: r.amp === undefined ? undefined : { ...splitAtMarkers(r.amp), id: `${id}.amp` },
    text: splitAtMarkers(r.text),
    tidyText: { ...splitAtMarkers(tidyText(r.text)), id: `${id}.text` },
    warnings: r.warnings,
  };
  cohorts.set(key, entry);
  return entry;
}
