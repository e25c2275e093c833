/**
 * Whether a response may be gzip-encoded, from the request's Accept-Encoding (RFC 9110 §12.5.3).
 * gzip is chosen when its weight (explicit `gzip` or `x-gzip`, else `*`) is above zero and not
 * below identity's (explicit `identity`, else `*`, else 1). No header means identity: clients
 * that decode gzip say so, and a curl without --compressed should get readable JSON.
 *
 * @example
 * acceptsGzip('gzip, deflate, br'); // true
 * acceptsGzip('gzip;q=0, identity'); // false
 * acceptsGzip('br;q=1, identity;q=0.5, *;q=0.1'); // false — identity outranks gzip via *
 */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let gzip: number | undefined;
  let identity: number | undefined;
  let any: number | undefined;
  for (const entry of header.split(',')) {
    const semi = entry.indexOf(';');
    const coding = (semi < 0 ? entry : entry.slice(0, semi)).trim().toLowerCase();
    const q = semi < 0 ? 1 : weight(entry.slice(semi + 1));
    if (q === undefined) continue;
    if (coding === 'gzip' || coding === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (coding === 'identity') identity = q;
    else if (coding === '*') any = q;
  }
  const g = gzip ?? any ?? 0;
  return g > 0 && g >= (identity ?? any ?? 1);
}

/** The q parameter of `;q=0.5` (RFC 9110 §12.4.2); undefined when malformed, so the entry is ignored. */
function weight(params: string): number | undefined {
  const m = /(?:^|;)\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*(?:;|$)/i.exec(params);
  if (!m) return /(?:^|;)\s*q\s*=/i.test(params) ? undefined : 1;
  const q = Number(m[1]);
  return q <= 1 ? q : undefined;
}
