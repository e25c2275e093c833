import type { IncomingMessage, ServerResponse } from 'node:http';
import { acceptsGzip } from './accept-encoding.ts';
import { GzipMember, type DeflateFragment } from './gzip-member.ts';
import type { PieceContext } from '../../render/encode-result.ts';

/**
 * How a response body built from byte pieces (render/encode-result.ts) goes on the wire: as is,
 * or as one gzip member across every write. Shared pieces keep their identity all the way down,
 * so the gzip form of a cohort's pre-encoded parts is computed once (gzip-member.ts).
 */
export interface BodyEncoding {
  readonly gzip: boolean;
  /** The bytes to send for these pieces (contexts: encode-result.ts `EncodedResult`). */
  write(pieces: readonly Buffer[], shared: readonly boolean[], contexts?: readonly (PieceContext | undefined)[]): Buffer[];
  /** For gzip: the bytes to send for a fragment compressed elsewhere (a batch render thread). */
  append?(fragment: DeflateFragment): Buffer[];
  /** The bytes that close the body (the gzip trailer); nothing for identity. */
  end(): Buffer[];
}

/**
 * Picks gzip or identity from the request's Accept-Encoding and sets `Vary` and, for gzip,
 * `Content-Encoding` on the response. Call before the headers are sent.
 *
 * @example
 * const encoding = negotiateEncoding(req, res);
 * sendChunks(res, [...encoding.write(encoded.pieces, encoded.shared), ...encoding.end()]);
 */
export function negotiateEncoding(req: IncomingMessage, res: ServerResponse): BodyEncoding {
  // The body depends on Accept-Encoding, so caches must key on it (RFC 9110 §12.5.5).
  res.setHeader('Vary', 'Accept-Encoding');
  if (!acceptsGzip(req.headers['accept-encoding'])) return IDENTITY;
  res.setHeader('Content-Encoding', 'gzip');
  const member = new GzipMember();
  return {
    gzip: true,
    write: (pieces, shared, contexts) => member.write(pieces, shared, contexts),
    append: (fragment) => member.append(fragment),
    end: () => [member.end()],
  };
}

const IDENTITY: BodyEncoding = { gzip: false, write: (pieces) => pieces as Buffer[], end: () => [] };

/** Chunks as one Buffer: one socket write instead of one per piece. */
export function joinChunks(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
