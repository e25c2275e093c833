import Handlebars from 'handlebars';
import type { Brand } from '../templates/brand.ts';
import { textDirection } from '../templates/locale-strings.ts';

const esc = Handlebars.Utils.escapeExpression;

/**
 * A small page in the brand's colours for the links customers follow from a message (pay,
 * unsubscribe). `body` is HTML the caller built with every value escaped; title is text.
 */
export function brandPage(brand: Brand, o: { lang: string; title: string; body: string }): string {
  return `<!doctype html><html lang="${esc(o.lang)}" dir="${textDirection(o.lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${esc(o.title)} · ${esc(brand.name)}</title><style>body{font-family:${brand.fonts.body};color:${brand.colors.text};background:${brand.colors.background};margin:0;padding:24px}main{max-width:520px;margin:0 auto;background:${brand.colors.surface};padding:24px;border-radius:8px}.btn{display:inline-block;background:${brand.colors.primary};color:${brand.colors.onPrimary};padding:12px 24px;border:0;border-radius:4px;text-decoration:none;font:inherit;font-weight:bold;cursor:pointer}</style></head><body><main><h1>${esc(o.title)}</h1>${o.body}</main></body></html>`;
}

/** Headers for such a page: never cached or indexed, no referrer leaks the token in its URL. */
export function brandPageHeaders(res: { setHeader(name: string, value: string): unknown }, formAction: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; img-src https:; form-action ${formAction}`);
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Robots-Tag', 'noindex');
}
