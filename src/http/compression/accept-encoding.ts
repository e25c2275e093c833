import Negotiator from 'negotiator';

const OFFERED = ['gzip', 'identity'];

/**
 * Whether a response may be gzip-encoded, from the request's Accept-Encoding (RFC 9110 §12.5.3),
 * as `negotiator` weighs it: gzip when it (or `*`) weighs above zero and not below identity; a
 * tie goes to gzip. No header means identity: clients that decode gzip say so, and a curl
 * without --compressed should get readable JSON. `x-gzip` counts as gzip (RFC 9110 §8.4.1.3),
 * which negotiator does not know.
 *
 * @example
 * acceptsGzip('gzip, deflate, br'); // true
 * acceptsGzip('gzip;q=0, identity'); // false
 * acceptsGzip('br;q=1, identity;q=0.5, *;q=0.1'); // false — identity outranks gzip via *
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  const accept = header.replace(/\bx-gzip\b/gi, 'gzip');
  return new Negotiator({ headers: { 'accept-encoding': accept } }).encoding(OFFERED) === 'gzip';
}
