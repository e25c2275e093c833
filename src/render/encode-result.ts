import type { RenderResult } from './render-message.ts';

/**
 * A render result as the bytes of its JSON, in pieces. Pieces marked `shared` are the same
 * Buffer object for every recipient of a cohort (render/cohort-cache.ts), so whatever a
 * writer derives from one (a compressed form, a checksum) can be cached by identity.
 * Concatenated, the pieces are exactly `before + JSON.stringify(result) + after` in UTF-8.
 */
export interface EncodedResult {
  pieces: Buffer[];
  shared: boolean[];
  /** Total byte length of the pieces. */
  length: number;
}

export function encodeRenderResult(result: RenderResult, before = '', after = ''): EncodedResult {
  const bytes = Buffer.from(`${before}${JSON.stringify(result)}${after}`);
  return { pieces: [bytes], shared: [false], length: bytes.length };
}
