import { constants, crc32, deflateRawSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import { crc32Append, crc32Operator } from './crc32-combine.ts';
import type { PieceContext } from '../../render/encode-result.ts';

/**
 * A gzip member (RFC 1952) assembled from byte pieces, where pieces marked `shared` are the same
 * bytes across many responses (render/encode-result.ts: the pre-encoded parts of a cohort). A
 * shared piece with a context is compressed once and its compressed form re-used under the
 * context's name (part id and segment index).
 *
 * This works because raw deflate streams flushed with Z_SYNC_FLUSH end byte-aligned and not
 * final, so independently compressed pieces can be laid one after another: a decoder reads them
 * as one deflate stream (RFC 1951 §3.2.3: blocks need not refer back). The member ends with an
 * empty final stored block and the trailer. The trailer's CRC-32 is carried through per-request
 * pieces with zlib.crc32 and through shared pieces with the CRC combine operator cached beside
 * their compressed form, so a shared piece's bytes are never read again.
 *
 * One member can span many writes: a single response writes once and ends; the batch route
 * writes each NDJSON line as it is rendered (each write is decodable on arrival) and ends with
 * the stream.
 *
 * @see https://www.rfc-editor.org/rfc/rfc1952 (gzip) and https://www.rfc-editor.org/rfc/rfc1951 (deflate)
 * @example
 * const member = new GzipMember();
 * const body = Buffer.concat([...member.write(encoded.pieces, encoded.shared), member.end()]);
 * gunzipSync(body).equals(Buffer.concat(encoded.pieces)); // true
 */
export class GzipMember {
  #crc = 0;
  #size = 0;
  #started = false;
  #ended = false;

  /**
   * Compressed chunks for these pieces (preceded by the gzip header on the first write). A
   * shared piece with a context (encode-result.ts `PieceContext`) is compressed against the
   * segments before it in its part.
   */
  write(pieces: readonly Buffer[], shared: readonly boolean[], contexts?: readonly (PieceContext | undefined)[]): Buffer[] {
    // The CRC runs on from what came before: no combine step.
    const fragment = deflateFragment(pieces, shared, contexts, this.#crc);
    return this.#lay(fragment.chunks, fragment.crc, fragment.size);
  }

  /** A fragment compressed elsewhere (a batch render thread), laid after what came before. */
  append(fragment: DeflateFragment): Buffer[] {
    return this.#lay(fragment.chunks, crc32Append(this.#crc, fragment.crc, crc32Operator(fragment.size)), fragment.size);
  }

  #lay(chunks: readonly Buffer[], crc: number, size: number): Buffer[] {
    if (this.#ended) throw new Error('GzipMember.write after end()');
    const out: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      out.push(GZIP_HEADER);
    }
    this.#crc = crc;
    this.#size += size;
    for (const chunk of chunks) out.push(chunk);
    return out;
  }

  /** The final (empty, stored) deflate block and the trailer: CRC-32 and length mod 2^32. */
  end(): Buffer {
    if (this.#ended) throw new Error('GzipMember.end called twice');
    this.#ended = true;
    const tail = Buffer.allocUnsafe((this.#started ? 0 : GZIP_HEADER.length) + FINAL_BLOCK.length + 8);
    let at = 0;
    if (!this.#started) at += GZIP_HEADER.copy(tail, 0);
    at += FINAL_BLOCK.copy(tail, at);
    tail.writeUInt32LE(this.#crc >>> 0, at);
    tail.writeUInt32LE(this.#size % 2 ** 32, at + 4);
    return tail;
  }
}

/**
 * Pieces as raw deflate blocks that end byte-aligned and not final, with the CRC-32 and length
 * of their bytes (the CRC continues from `crcBefore`): laid after any other fragment they decode as one stream, and the CRCs combine.
 * Back-references stay inside the fragment, so fragments can be made apart (in another thread).
 */
export interface DeflateFragment {
  chunks: Buffer[];
  crc: number;
  size: number;
}

export function deflateFragment(
  pieces: readonly Buffer[],
  shared: readonly boolean[],
  contexts?: readonly (PieceContext | undefined)[],
  /** The CRC-32 of what precedes these pieces in the member, when made in place; 0 on its own. */
  crcBefore = 0,
): DeflateFragment {
  const out: Buffer[] = [];
  let crc = crcBefore;
  let size = 0;
  // Adjacent per-request pieces are compressed (or stored) together: they are small and many.
  let run: Buffer[] = [];
  let runBytes = 0;
  const flushRun = () => {
    if (!runBytes) return;
    pushUnshared(out, run, runBytes);
    run = [];
    runBytes = 0;
  };
  const counted = new Set<object>();
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (piece.length === 0) continue;
    size += piece.length;
    if (shared[i]) {
      flushRun();
      const context = contexts?.[i];
      const sum = checksumOf(piece, context);
      out.push((context && deflatedInContext(context, counted)) || deflatedShared(piece, context));
      crc = crc32Append(crc, sum.crc, sum.operator);
      continue;
    }
    crc = crc32(piece, crc);
    run.push(piece);
    runBytes += piece.length;
  }
  flushRun();
  return { chunks: out, crc, size };
}

/** The whole gzip body of a single response made of these pieces. */
export function gzipPieces(pieces: readonly Buffer[], shared: readonly boolean[], contexts?: readonly (PieceContext | undefined)[]): Buffer[] {
  const member = new GzipMember();
  const out = member.write(pieces, shared, contexts);
  out.push(member.end());
  return out;
}

/** ID1 ID2, CM=8 (deflate), FLG=0, MTIME=0 (none), XFL=0, OS=3 (Unix) — RFC 1952 §2.3. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
/** BFINAL=1, BTYPE=00 (stored), LEN=0, NLEN=0xffff — RFC 1951 §3.2.4. */
const FINAL_BLOCK = Buffer.from([1, 0, 0, 0xff, 0xff]);

/**
 * Per-request runs at least this long are deflated (level 1), shorter ones go out as stored
 * blocks. deflateRawSync costs ~25 µs before its first byte (stream set-up) plus ~4.4 µs/kB at
 * level 1 and shrinks rendered JSON ~10×; a stored block costs 5 bytes and no CPU. Measured on
 * the 2-core bench machine (Node 20): a 2 kB run takes 38 µs to save ~1 kB, which costs less
 * than that to send; at 8 kB the bytes saved (~7 kB, ~60 µs of an HTTP client's parsing) pay
 * for the ~60 µs spent. It must stay below 65,536: a stored block's LEN is 16 bits.
 */
const DEFLATE_UNSHARED_MIN = 8 * 1024;

interface Checksum {
  crc: number;
  /** crc32Operator(piece.length), for appending this piece's CRC to a running one. */
  operator: number;
}

/** A shared segment's name: its part's id (cohort-cache.ts `SharedPart`) and its index. */
function segmentKey(context: PieceContext): string {
  return `${context.part}#${context.index}`;
}

/**
 * By segment name. A cohort's parts have a few hundred segments at most, and the cohort cache
 * keeps ~130 cohorts (24 MB, cohort-cache.ts): the bounds hold every live cohort's segments,
 * and no more, since entries of evicted cohorts are never asked for again.
 */
const checksums = new LRUCache<string, Checksum>({ max: 60_000 });
/** Raw deflate, Z_SYNC_FLUSH (byte-aligned, no final block), of a shared segment on its own (~19 kB a cohort). */
const deflatedAlone = new LRUCache<string, Buffer>({ maxSize: 16 * 1024 * 1024, sizeCalculation: (b) => b.length + 64 });

function checksumOf(piece: Buffer, context: PieceContext | undefined): Checksum {
  const key = context && segmentKey(context);
  let c = key === undefined ? undefined : checksums.get(key);
  if (!c) {
    c = { crc: crc32(piece), operator: crc32Operator(piece.length) };
    if (key !== undefined) checksums.set(key, c);
  }
  return c;
}

function deflatedShared(piece: Buffer, context: PieceContext | undefined): Buffer {
  const key = context && segmentKey(context);
  let d = key === undefined ? undefined : deflatedAlone.get(key);
  if (!d) {
    // Compressed once per cohort, so the default level's better ratio is worth its time.
    d = deflateRawSync(piece, { finishFlush: constants.Z_SYNC_FLUSH });
    if (key !== undefined) deflatedAlone.set(key, d);
  }
  return d;
}

/**
 * A part's segments compressed in context, per layout (the lengths of the values between
 * them), by part id. Segment i is deflated with a preset dictionary holding the
 * 32 KiB of the part before it, values replaced by as many zero bytes. Its back-references
 * reach only into earlier segments (JSON text never holds a zero byte, so nothing matches the
 * filler), at the distances the reader's window has them when the values have those lengths:
 * the product cards of an AMP part refer to the card before instead of each being compressed
 * alone. A recommendations response goes from ~19 kB to ~9 kB.
 *
 * Compressing a layout costs ~5 ms (a zlib stream per segment), about ten renders. A campaign's
 * recipients differ in a few value lengths (first names, ids), so a part sees several layouts,
 * some rarely: a layout is compressed in context from its INCONTEXT_AFTER-th response on (the
 * ones before go out with the segments compressed alone), and at most LAYOUTS are tracked per
 * part, so the work and the memory stay bounded (~9 kB per layout of a cohort's three parts).
 */
const inContext = new LRUCache<string, Map<string, { seen: number; deflated?: Buffer[] }>>({ max: 512 });
const INCONTEXT_AFTER = 8;
const LAYOUTS = 8;

/**
 * The segment compressed in context, or undefined while its layout is not (yet) worth it.
 * `counted` holds the layouts already counted for the response being written.
 */
function deflatedInContext(context: PieceContext, counted: Set<object>): Buffer | undefined {
  let byLayout = inContext.get(context.part);
  if (!byLayout) {
    byLayout = new Map();
    inContext.set(context.part, byLayout);
  }
  let layout = byLayout.get(context.layout);
  if (!layout) {
    if (byLayout.size >= LAYOUTS) return undefined;
    layout = { seen: 0 };
    byLayout.set(context.layout, layout);
  }
  if (!counted.has(layout)) {
    counted.add(layout);
    layout.seen++;
  }
  if (!layout.deflated && layout.seen >= INCONTEXT_AFTER) layout.deflated = deflatePart(context.segments, context.gaps);
  return layout.deflated?.[context.index];
}

function deflatePart(segments: readonly Buffer[], gaps: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let window = Buffer.alloc(0);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    out.push(deflateRawSync(segment, { finishFlush: constants.Z_SYNC_FLUSH, ...(window.length ? { dictionary: window } : {}) }));
    const next = Buffer.concat([window, segment, Buffer.alloc(gaps[i] ?? 0)]);
    window = next.length > WINDOW ? next.subarray(next.length - WINDOW) : next;
  }
  return out;
}

function pushUnshared(out: Buffer[], run: Buffer[], bytes: number): void {
  if (bytes >= DEFLATE_UNSHARED_MIN) {
    out.push(deflateRawSync(run.length === 1 ? run[0]! : Buffer.concat(run, bytes), { level: constants.Z_BEST_SPEED, finishFlush: constants.Z_SYNC_FLUSH }));
    return;
  }
  // Shorter than DEFLATE_UNSHARED_MIN, so one stored block holds the run.
  out.push(storedHeader(bytes), ...run);
}

/** Deflate's window: a back-reference reaches at most 32 KiB back (RFC 1951 §2). */
const WINDOW = 32_768;

/** BFINAL=0, BTYPE=00, then LEN and its ones' complement NLEN, little-endian — RFC 1951 §3.2.4. */
function storedHeader(length: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = 0;
  h.writeUInt16LE(length, 1);
  h.writeUInt16LE(~length & 0xffff, 3);
  return h;
}
