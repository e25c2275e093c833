import type { NextFunction, Request, Response } from 'express';
import { ampClaimsSchema, type AmpClaims } from '../../commerce/amp-claims.ts';
import { verifyToken, type SigningKey } from '../../commerce/signed-token.ts';
import { HttpError } from '../http-error.ts';
import type { Say } from './amp-messages.ts';
import { acceptLanguage } from '../accept-language.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** The verified claims of the AMP access token (customer, message, what it showed). */
    amp?: AmpClaims;
  }
}

export interface AmpTokenOptions {
  keys: readonly SigningKey[];
  now: () => Date;
  say: Say;
}

/**
 * Every /amp/v1 request carries the message's token in `?token=` (GmailDev "authenticating
 * requests": proxied requests have no cookies). A tampered token, one signed by a key that is
 * no longer configured, or a malformed one is `invalid_token`; an authentic one past its `exp`
 * is `expired_token`. Both are 401 with words the email can show the customer.
 */
export function ampToken(options: AmpTokenOptions) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const token = req.query.token;
    if (typeof token !== 'string' || token === '') {
      throw new HttpError(401, 'invalid_token', options.say(acceptLanguage(req), 'invalidToken'));
    }
    const verified = verifyToken<AmpClaims>(token, options.keys, options.now());
    if (!verified.ok) {
      if (verified.reason === 'expired') throw new HttpError(401, 'expired_token', options.say(expiredLocale(token), 'expiredToken'));
      throw new HttpError(401, 'invalid_token', options.say(acceptLanguage(req), 'invalidToken'));
    }
    const claims = ampClaimsSchema.safeParse(verified.claims);
    if (!claims.success) throw new HttpError(401, 'invalid_token', options.say(acceptLanguage(req), 'invalidToken'));
    req.amp = claims.data;
    next();
  };
}

/**
 * The language of an expired token's email. verifyToken reports `expired` only after the
 * signature checked out, so the payload is ours and may be read for this.
 */
function expiredLocale(token: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { loc?: unknown };
    return typeof claims.loc === 'string' ? claims.loc : undefined;
  } catch {
    return undefined;
  }
}
