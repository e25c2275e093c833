import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { MarkerValues, SharedPart } from './cohort-cache.ts';
import { CohortEmail, emailParts, type ServiceRenderResult } from './render-result.ts';

/**
 * Step 5 of the pipeline (pipeline.ts): a render result as the bytes of its JSON, in pieces.
 * Pieces marked `shared` are segments of a part every recipient of a cohort shares
 * (render/cohort-cache.ts); their context names the part and the segment, so whatever a writer
 * derives from one (a compressed form, a checksum) can be cached under that name.
 * Concatenated, the pieces are exactly `before + JSON.stringify(result) + after` in UTF-8.
 *
 * Why: a result is ~100 KB of JSON, almost all of it the email parts a cohort shares.
 * Serialising and UTF-8-encoding that per recipient cost more than rendering it; here the
 * shared segments are encoded once per cohort and each recipient adds a few small pieces.
 */
export interface EncodedResult {
  pieces: Buffer[];
  shared: boolean[];
  /**
   * For a shared piece that is a segment of a filled part: the part's segments and the byte
   * lengths of the values between them in this result. A compressor can then compress the
   * segment against the ones before it, as the reader will have them (gzip-member.ts).
   */
  contexts: (PieceContext | undefined)[];
  /** Total byte length of the pieces. */
  length: number;
}

/** Segment `index` of `segments`, with `gaps[i]` bytes of per-recipient values after segment i. */
export interface PieceContext {
  /** The shared part's id (cohort-cache.ts `SharedPart`): the segments are the same for every result that names it. */
  part: string;
  segments: readonly Buffer[];
  index: number;
  gaps: readonly number[];
  /** `gaps`, as a cache key. */
  layout: string;
}

// Stand-ins for the big parts while the rest of the result is serialised. Random per process,
// so no data can contain one by chance or on purpose.
const NONCE = randomBytes(12).toString('base64url');
const PLACEHOLDER = { amp: `\uE001${NONCE}a`, html: `\uE001${NONCE}h`, text: `\uE001${NONCE}t` } as const;
const PARTS = ['amp', 'html', 'text'] as const;

export function encodeRenderResult(result: ServiceRenderResult, before = '', after = ''): EncodedResult {
  const email = emailParts(result);
  // Only a cohort render's own frozen email has a fill: its strings are exactly the fill's.
  const fill = email instanceof CohortEmail ? email.fill : undefined;
  if (!email || !fill) return single(`${before}${JSON.stringify(result)}${after}`);

  const stand: Record<string, unknown> = { ...email };
  for (const part of PARTS) if (fill[part] && email[part] !== undefined) stand[part] = PLACEHOLDER[part];
  const json = `${before}${JSON.stringify({ ...result, email: stand })}${after}`;

  const out: EncodedResult = { pieces: [], shared: [], contexts: [], length: 0 };
  // A value fills many slots (the token is in every AMP URL): each is encoded once.
  const escaped = encodedValues(fill.escaped);
  const raw = encodedValues(fill.raw);
  let from = 0;
  // JSON.stringify keeps the email's key order (amp, html, text), so the stand-ins appear in it.
  for (const part of PARTS) {
    if (stand[part] !== PLACEHOLDER[part]) continue;
    const at = json.indexOf(PLACEHOLDER[part], from);
    push(out, Buffer.from(json.slice(from, at)), false);
    pushFilled(out, fill[part]!, part === 'text' ? raw : escaped);
    from = at + PLACEHOLDER[part].length;
  }
  push(out, Buffer.from(json.slice(from)), false);
  return out;
}

function single(text: string): EncodedResult {
  const bytes = Buffer.from(text);
  return { pieces: [bytes], shared: [false], contexts: [undefined], length: bytes.length };
}

function push(out: EncodedResult, bytes: Buffer, shared: boolean, context?: PieceContext): void {
  if (bytes.length === 0) return;
  out.pieces.push(bytes);
  out.shared.push(shared);
  out.contexts.push(context);
  out.length += bytes.length;
}

/**
 * A shared part's segments, each as the UTF-8 of its JSON string content, by part id: encoded
 * once per cohort. Bounded by bytes like the cohort cache (cohort-cache.ts): a cohort's three
 * parts are ~90 KB of UTF-8, so 16 MB holds the parts of more cohorts than that cache keeps.
 */
const encodedSegments = new LRUCache<string, Buffer[]>({ maxSize: 16 * 2 ** 20, sizeCalculation: segmentBytes });

function segmentBytes(segments: Buffer[]): number {
  let n = 64;
  for (const b of segments) n += b.length + 64;
  return n;
}

type EncodedValues = Record<keyof MarkerValues, Buffer>;

function encodedValues(values: MarkerValues): EncodedValues {
  return { n: jsonContent(values.n), p: jsonContent(values.p), m: jsonContent(values.m), t: jsonContent(values.t), u: jsonContent(values.u) };
}

function pushFilled(out: EncodedResult, part: SharedPart, values: EncodedValues): void {
  let segments = encodedSegments.get(part.id);
  if (!segments) {
    segments = part.segments.map(jsonContent);
    encodedSegments.set(part.id, segments);
  }
  const gaps = part.slots.map((slot) => values[slot].length);
  const layout = gaps.join(',');
  push(out, segments[0]!, true, { part: part.id, segments, index: 0, gaps, layout });
  for (let i = 0; i < part.slots.length; i++) {
    push(out, values[part.slots[i]!], false);
    push(out, segments[i + 1]!, true, { part: part.id, segments, index: i + 1, gaps, layout });
  }
}

/** The bytes between the quotes of a string's JSON. */
function jsonContent(s: string): Buffer {
  const json = JSON.stringify(s);
  return Buffer.from(json.slice(1, json.length - 1));
}
