import { constants, crc32, deflateRawSync } from 'node:zlib';
import { crc32Append, crc32Operator } from './crc32-combine.ts';

/**
 * A gzip member (RFC 1952) assembled from byte pieces, where pieces marked `shared` are the same
 * Buffer object across many responses (render/encode-result.ts: the pre-encoded parts of a
 * cohort). A shared piece is compressed once and its compressed form re-used by identity.
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

  /** Compressed chunks for these pieces (preceded by the gzip header on the first write). */
  write(pieces: readonly Buffer[], shared: readonly boolean[]): Buffer[] {
    if (this.#ended) throw new Error('GzipMember.write after end()');
    const out: Buffer[] = [];
    if (!this.#started) {
      this.#started = true;
      out.push(GZIP_HEADER);
    }
    // Adjacent per-request pieces are compressed (or stored) together: they are small and many.
    let run: Buffer[] = [];
    let runBytes = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (piece.length === 0) continue;
      this.#size += piece.length;
      if (shared[i]) {
        if (runBytes) {
          pushUnshared(out, run, runBytes);
          run = [];
          runBytes = 0;
        }
        const d = deflatedShared(piece);
        out.push(d.deflated);
        this.#crc = crc32Append(this.#crc, d.crc, d.operator);
      } else {
        run.push(piece);
        runBytes += piece.length;
        this.#crc = crc32(piece, this.#crc);
      }
    }
    if (runBytes) pushUnshared(out, run, runBytes);
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

/** The whole gzip body of a single response made of these pieces. */
export function gzipPieces(pieces: readonly Buffer[], shared: readonly boolean[]): Buffer[] {
  const member = new GzipMember();
  const out = member.write(pieces, shared);
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

interface DeflatedPiece {
  /** Raw deflate, Z_SYNC_FLUSH: byte-aligned, no final block. */
  deflated: Buffer;
  crc: number;
  /** crc32Operator(piece.length), for appending this piece's CRC to a running one. */
  operator: number;
}

/**
 * Keyed by the Buffer object: a shared piece is immutable by contract (EncodedResult), and an
 * entry goes when its cohort's buffers are collected.
 */
const sharedCache = new WeakMap<Buffer, DeflatedPiece>();

function deflatedShared(piece: Buffer): DeflatedPiece {
  let d = sharedCache.get(piece);
  if (!d) {
    // Compressed once per cohort, so the default level's better ratio is worth its time.
    d = { deflated: deflateRawSync(piece, { finishFlush: constants.Z_SYNC_FLUSH }), crc: crc32(piece), operator: crc32Operator(piece.length) };
    sharedCache.set(piece, d);
  }
  return d;
}

function pushUnshared(out: Buffer[], run: Buffer[], bytes: number): void {
  if (bytes >= DEFLATE_UNSHARED_MIN) {
    out.push(deflateRawSync(run.length === 1 ? run[0]! : Buffer.concat(run, bytes), { level: constants.Z_BEST_SPEED, finishFlush: constants.Z_SYNC_FLUSH }));
    return;
  }
  // Shorter than DEFLATE_UNSHARED_MIN, so one stored block holds the run.
  out.push(storedHeader(bytes), ...run);
}

/** BFINAL=0, BTYPE=00, then LEN and its ones' complement NLEN, little-endian — RFC 1951 §3.2.4. */
function storedHeader(length: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = 0;
  h.writeUInt16LE(length, 1);
  h.writeUInt16LE(~length & 0xffff, 3);
  return h;
}
