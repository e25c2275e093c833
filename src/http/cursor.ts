import { z } from 'zod';
import { HttpError } from './http-error.ts';

/**
 * Opaque page cursors: a list's keyset position as base64url JSON. Clients pass back what they
 * were given and never build one, so the position may change shape without breaking them.
 *
 * @example
 * const c = encodeCursor([1042, 'd87713d8-…']);
 * decodeCursor(c, z.tuple([z.number(), z.string()])) // [1042, 'd87713d8-…']
 */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** The position of a cursor this API handed out; a 400 naming `after` for anything else. */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw HttpError.invalidRequest([{ path: 'after', message: 'not a cursor this API handed out: pass nextCursor from the previous page, or leave after out to start at the beginning' }], 'The query');
  }
  return parsed.data;
}

const LIMIT = 'limit is a whole number from 1 to 100';

/** The `limit` of a paged list: 1 to 100, 50 when absent. */
export const pageLimitSchema = z.coerce.number({ message: LIMIT }).int({ message: LIMIT }).min(1, { message: LIMIT }).max(100, { message: LIMIT }).default(50);
