import { constants, gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../support/seeded-random.ts';
import { GzipMember, gzipPieces } from '../../../src/http/compression/gzip-member.ts';
import type { PieceContext } from '../../../src/render/encode-result.ts';

const random = seededRandom;

/** JSON-ish text with multi-byte UTF-8 (Turkish, Swedish, €, emoji), so splits cut characters apart. */
function sampleBytes(length: number, rnd: (n: number) => number): Buffer {
  const words = ['{"amp":"<!doctype html>', 'Ayşe ', 'Ingrid Öberg ', '€ 129,00 ', '🛍️ ', '\\"quoted\\" ', 'Fjord Linen Shirt ', '</td></tr>', ' '];
  const parts: string[] = [];
  for (let bytes = 0; bytes < length; ) {
    const word = words[rnd(words.length)]!;
    parts.push(word);
    bytes += Buffer.byteLength(word);
  }
  return Buffer.from(parts.join('')).subarray(0, length);
}

/** Cuts `bytes` into pieces at random points (empty pieces included); each piece is a copy. */
function split(bytes: Buffer, cuts: number, rnd: (n: number) => number): Buffer[] {
  const points = Array.from({ length: cuts }, () => rnd(bytes.length + 1)).sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    pieces.push(Buffer.from(bytes.subarray(at, p)));
    at = p;
  }
  return pieces;
}

const concat = (chunks: readonly Buffer[]) => Buffer.concat(chunks);

describe('GzipMember', () => {
  it('gunzips to exactly the pieces, for random splits with random pieces shared', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rnd = random(seed);
      const bytes = sampleBytes(1 + rnd(150_000), rnd);
      const pieces = split(bytes, rnd(40), rnd);
      const shared = pieces.map(() => rnd(2) === 1);
      const out = gzipPieces(pieces, shared);
      expect(gunzipSync(concat(out)).equals(bytes), `seed ${seed}`).toBe(true);
    }
  });

  it('re-uses the compressed form of a shared piece by its name (part id and index), and the result is still exact', () => {
    const rnd = random(7);
    const part = sampleBytes(90_000, rnd);
    // A copy of the bytes under the same name: the name, not the Buffer object, finds the cached form.
    const context = (segment: Buffer): PieceContext => ({ part: 'cohort-7.html', segments: [segment], index: 0, gaps: [], layout: '' });
    const a = gzipPieces([Buffer.from('{"id":"m-1","email":'), part, Buffer.from('}')], [false, true, false], [undefined, context(part), undefined]);
    const copy = Buffer.from(part);
    const b = gzipPieces([Buffer.from('{"id":"m-2","email":'), copy, Buffer.from('}')], [false, true, false], [undefined, context(copy), undefined]);
    // [header, stored-block header, small piece, shared piece's deflate, …]
    const deflatedA = a.find((c) => c.length > 1000);
    expect(deflatedA).toBeDefined();
    expect(b).toContain(deflatedA);
    expect(deflatedA!.length).toBeLessThan(part.length / 3);
    expect(gunzipSync(concat(b)).toString()).toBe(`{"id":"m-2","email":${part.toString()}}`);
  });

  it('gunzips to exactly the pieces when per-request pieces repeat and shared ones are up to 40 kB, over two writes', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rnd = random(seed);
      const values = Array.from({ length: 4 }, () => sampleBytes([1, 31, 32, 33, 258, 259, 260, 261, 516, 517, 400][rnd(11)]!, rnd));
      const pieces: Buffer[] = [];
      const shared: boolean[] = [];
      for (let i = rnd(60); i >= 0; i--) {
        const kind = rnd(4);
        pieces.push(kind === 0 ? values[rnd(values.length)]! : sampleBytes(rnd(kind === 1 ? 40_000 : 300), rnd));
        shared.push(kind === 1);
      }
      const member = new GzipMember();
      const out = [...member.write(pieces.slice(0, pieces.length >> 1), shared), ...member.write(pieces.slice(pieces.length >> 1), shared.slice(pieces.length >> 1)), member.end()];
      expect(gunzipSync(concat(out)).equals(concat(pieces)), `seed ${seed}`).toBe(true);
    }
  });

  it('compresses a part\'s segments against the ones before it once a layout recurs: exact for every value of its lengths, and smaller', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = random(seed);
      // A part like an AMP document: a card repeated with small changes, values between cards.
      const card = sampleBytes(1_500 + rnd(3_000), rnd);
      const segments = Array.from({ length: 5 + rnd(20) }, () => Buffer.concat([card.subarray(0, rnd(card.length)), sampleBytes(rnd(400), rnd)]));
      const gaps = segments.slice(1).map(() => rnd(500));
      const layout = gaps.join(',');
      const sizes: number[] = [];
      // Recipients whose values have the same lengths: the first responses go out with the
      // segments compressed alone, later ones in context.
      for (let n = 0; n < 10; n++) {
        const pieces: Buffer[] = [];
        const shared: boolean[] = [];
        const contexts: (PieceContext | undefined)[] = [];
        segments.forEach((segment, index) => {
          pieces.push(segment);
          shared.push(true);
          contexts.push({ part: `seed-${seed}`, segments, index, gaps, layout });
          if (index < gaps.length) {
            pieces.push(sampleBytes(gaps[index]!, rnd));
            shared.push(false);
            contexts.push(undefined);
          }
        });
        const out = concat(gzipPieces(pieces, shared, contexts));
        expect(gunzipSync(out).equals(concat(pieces)), `seed ${seed} response ${n}`).toBe(true);
        sizes.push(out.length - concat(pieces.filter((_, i) => !shared[i])).length);
      }
      expect(sizes.at(-1)!, `seed ${seed}`).toBeLessThan(sizes[0]!);
    }
  });

  it('stores short per-request runs and deflates long ones, both exact', () => {
    const rnd = random(11);
    const short = sampleBytes(600, rnd);
    const long = sampleBytes(70_000, rnd); // more than one stored block could hold
    const shortOut = gzipPieces([short], [false]);
    expect(concat(shortOut).length).toBe(10 + 5 + short.length + 5 + 8);
    const longOut = gzipPieces([long.subarray(0, 30_000), long.subarray(30_000)], [false, false]);
    expect(concat(longOut).length).toBeLessThan(long.length / 3);
    expect(gunzipSync(concat(longOut)).equals(long)).toBe(true);
  });

  it('handles pieces over 64 kB, empty pieces, and an empty body', () => {
    const rnd = random(3);
    const big = sampleBytes(200_000, rnd);
    const pieces = [Buffer.alloc(0), big.subarray(0, 70_000), Buffer.alloc(0), big.subarray(70_000, 140_000), big.subarray(140_000), Buffer.alloc(0)];
    expect(gunzipSync(concat(gzipPieces(pieces, [true, true, false, false, true, false]))).equals(big)).toBe(true);
    expect(gunzipSync(concat(gzipPieces([], []))).length).toBe(0);
    expect(gunzipSync(concat(gzipPieces([Buffer.alloc(0)], [true]))).length).toBe(0);
  });

  it('streams: every write can be inflated on arrival, and the whole stream gunzips to all lines', () => {
    const rnd = random(5);
    const member = new GzipMember();
    const shared = sampleBytes(40_000, rnd); // one cohort's email, in every line
    const sent: Buffer[] = [];
    const lines: Buffer[] = [];
    for (let n = 1; n <= 30; n++) {
      const head = Buffer.from(`{"line":${n},"ok":true,"result":{"id":"Ayşe-${n}","email":`);
      const own = sampleBytes(rnd(20_000), rnd);
      const pieces = [head, shared, own, Buffer.from('}}\n')];
      lines.push(...pieces);
      sent.push(...member.write(pieces, [false, true, false, false]));
      // What the client holds so far (minus the 10-byte header) decodes to every line so far.
      expect(inflateRawSync(concat(sent).subarray(10), { finishFlush: constants.Z_SYNC_FLUSH }).equals(concat(lines)), `line ${n}`).toBe(true);
    }
    sent.push(member.end());
    expect(gunzipSync(concat(sent)).equals(concat(lines))).toBe(true);
    expect(() => member.write([Buffer.from('x')], [false])).toThrow(/after end/);
  });
});
