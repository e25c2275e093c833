import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../http-error.ts';

/**
 * Mail-client origins that send CORS version 1 with their own origin, not the sender's
 * address, in `__amp_source_origin`: Yahoo Mail does (Origin: null,
 * __amp_source_origin=https://mail.yahoo.com; ampproject/wg-amp4email#24) and AOL Mail runs on
 * the same platform.
 */
export const PROVIDER_SOURCE_ORIGINS: ReadonlySet<string> = new Set(['https://mail.yahoo.com', 'https://mail.aol.com']);

export interface AmpCorsOptions {
  /** Lower-cased sender addresses, or `*@domain` for every address at a domain (config.ampAllowedSenders). */
  allowedSenders: readonly string[];
}

export type AmpCorsProtocol = 'v2' | 'v1' | 'v1-provider';

declare module 'express-serve-static-core' {
  interface Request {
    /** How the mail client identified the email, once `ampCors` allowed it. */
    ampSender?: { protocol: AmpCorsProtocol; sender: string };
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Whether `sender` (an email address) is on the allowlist: exact address, or `*@domain` for the whole domain. */
export function senderAllowed(sender: string, allowed: readonly string[]): boolean {
  const address = sender.trim().toLowerCase();
  if (!EMAIL.test(address)) return false;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return allowed.some((a) => a === address || a === `*@${domain}`);
}

/**
 * AMP for Email CORS, both versions (amp.dev "CORS in AMP for Email"; shared/facts §3).
 *
 * - v2: `AMP-Email-Sender: <address>` → `AMP-Email-Allow-Sender: <address>`. It wins when a
 *   client sends both versions, and then no v1 header is answered.
 * - v1: `Origin` + `?__amp_source_origin=<address>` → `Access-Control-Allow-Origin: <Origin>`,
 *   `AMP-Access-Control-Allow-Source-Origin: <address>`, and the expose header without which
 *   the runtime cannot read the previous one (wg-amp4email#25). Browsers send AMP's XHRs with
 *   credentials, so `Access-Control-Allow-Credentials: true` too (Yahoo needs it; #24), which
 *   is safe because the allowed origin is never `*` and these endpoints read no cookies.
 * - Yahoo/AOL v1: `__amp_source_origin` is the provider's own origin, not an address. Those
 *   providers render AMP only from senders they registered by DKIM domain, so the request is
 *   accepted when its Origin is `null` or that same provider origin; the per-message token
 *   still decides what it may do.
 * - Neither: refused with 403, as is a sender not on the allowlist.
 *
 * Preflights (OPTIONS) are answered here with 204 and never reach the routes.
 */
export function ampCors(options: AmpCorsOptions) {
  const allowed = options.allowedSenders.map((s) => s.trim().toLowerCase()).filter(Boolean);
  const refuseSender = (sender: string) =>
    new HttpError(
      403,
      'sender_not_allowed',
      allowed.length === 0
        ? `AMP requests from ${sender} are refused: no sender is allowed yet. Add the sending address to AMP_ALLOWED_SENDERS.`
        : `AMP requests from ${sender} are refused: the sender is not in AMP_ALLOWED_SENDERS.`,
    );

  return (req: Request, res: Response, next: NextFunction): void => {
    res.vary('AMP-Email-Sender');
    res.vary('Origin');
    const origin = req.headers.origin;

    if (req.method === 'OPTIONS') {
      if (origin === undefined) throw new HttpError(400, 'cors_refused', 'A CORS preflight needs an Origin header.');
      res.set({
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Credentials': 'true',
        'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
        'Access-Control-Allow-Headers': allowHeaders(req.headers['access-control-request-headers']),
        'Access-Control-Max-Age': '600',
      });
      res.status(204).end();
      return;
    }

    const v2 = req.headers['amp-email-sender'];
    if (typeof v2 === 'string' && v2.trim() !== '') {
      const sender = v2.trim();
      if (!senderAllowed(sender, allowed)) throw refuseSender(sender);
      res.set('AMP-Email-Allow-Sender', sender);
      req.ampSender = { protocol: 'v2', sender: sender.toLowerCase() };
      next();
      return;
    }

    if (origin !== undefined) {
      const source = sourceOrigin(req.query.__amp_source_origin);
      if (source === undefined) {
        throw new HttpError(400, 'cors_refused', 'A request with an Origin header needs the __amp_source_origin query parameter (AMP for Email CORS version 1).');
      }
      let protocol: AmpCorsProtocol;
      if (PROVIDER_SOURCE_ORIGINS.has(source.toLowerCase())) {
        if (origin !== 'null' && origin.toLowerCase() !== source.toLowerCase()) {
          throw new HttpError(403, 'cors_refused', `__amp_source_origin ${source} is a mail provider's origin, but the request came from ${origin}.`);
        }
        protocol = 'v1-provider';
      } else {
        if (!senderAllowed(source, allowed)) throw refuseSender(source);
        protocol = 'v1';
      }
      res.set({
        'Access-Control-Allow-Origin': origin,
        'AMP-Access-Control-Allow-Source-Origin': source,
        'Access-Control-Expose-Headers': 'AMP-Access-Control-Allow-Source-Origin',
        'Access-Control-Allow-Credentials': 'true',
      });
      req.ampSender = { protocol, sender: source.toLowerCase() };
      next();
      return;
    }

    throw new HttpError(
      403,
      'cors_refused',
      'This endpoint answers AMP emails only: send AMP-Email-Sender (CORS for AMP for Email v2) or Origin with ?__amp_source_origin= (v1).',
    );
  };
}

function sourceOrigin(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' && value.length <= 320 ? value.trim() : undefined;
}

const SAFE_HEADERS = ['Content-Type', 'AMP-Email-Sender', 'AMP-Same-Origin'];

/** The requested headers when they are plain header names (echoing them is what makes arbitrary client headers work), else our own list. */
function allowHeaders(requested: string | undefined): string {
  if (requested && /^[\w-]+(\s*,\s*[\w-]+)*$/.test(requested.trim())) return requested.trim();
  return SAFE_HEADERS.join(', ');
}
