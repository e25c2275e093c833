import { hash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './http-error.ts';

// One-shot: a Hash object per request cost twice as much, and every /v1 request checks a key.
const digest = (value: string) => hash('sha256', value, 'buffer');

/** RFC 6750 §3: a 401 tells the client which scheme to use. */
const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="inboxcart"' };

/**
 * Bearer API keys (RFC 6750): a check that throws the 401 for a missing, malformed or unknown
 * key. Keys are compared as SHA-256 digests with timingSafeEqual, so neither the key's content
 * nor its length leaks through response timing, and every configured key is checked so timing
 * does not reveal which one matched. With no keys configured this returns undefined and the
 * API is open (the start-up log says so).
 */
export function apiKeyCheck(keys: readonly string[]): ((authorization: string | undefined) => void) | undefined {
  if (keys.length === 0) return undefined;
  const digests = keys.map(digest);
  return (header) => {
    if (!header) {
      throw new HttpError(401, 'unauthorized', "Missing API key. Send it as 'Authorization: Bearer <key>' (keys are set with API_KEYS).", undefined, CHALLENGE);
    }
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) {
      throw new HttpError(401, 'unauthorized', "The Authorization header is not a bearer token. Send 'Authorization: Bearer <key>'.", undefined, {
        'WWW-Authenticate': 'Bearer realm="inboxcart", error="invalid_request"',
      });
    }
    const given = digest(m[1]!);
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(given, d) || ok;
    if (!ok) {
      throw new HttpError(401, 'unauthorized', 'The API key is not valid. Check it against API_KEYS on the server.', undefined, {
        'WWW-Authenticate': 'Bearer realm="inboxcart", error="invalid_token"',
      });
    }
  };
}

/** `apiKeyCheck` as Express middleware for the /v1 router. */
export function apiKeyAuth(keys: readonly string[]) {
  const check = apiKeyCheck(keys);
  if (!check) return undefined;
  return (req: Request, _res: Response, next: NextFunction): void => {
    check(req.headers.authorization);
    next();
  };
}
