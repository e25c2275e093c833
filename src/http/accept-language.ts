import type { IncomingMessage } from 'node:http';

/** The first language tag of Accept-Language, when it is a well-formed one (no quality sorting: pages only need a hint). */
export function acceptLanguage(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const first = req.headers['accept-language']?.split(',')[0]?.split(';')[0]?.trim();
  return first && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(first) ? first : undefined;
}
