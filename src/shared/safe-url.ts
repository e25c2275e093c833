/**
 * URL checks for values that come from data (profiles, recommendations, catalog). Templates
 * are trusted; data is not: a product URL of `javascript:alert(1)` must never reach an href.
 */

export type UrlKind = 'link' | 'image';

/**
 * Returns the URL when it is absolute and its scheme is allowed for the kind (links: http or
 * https; images: https only, as AMP requires), otherwise undefined.
 */
export function checkUrl(value: unknown, kind: UrlKind): URL | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && kind === 'link') return url;
  return undefined;
}

export interface CampaignParams {
  source?: string;
  medium?: string;
  campaign?: string;
  content?: string;
}

/** Adds utm_* parameters without overwriting ones the link already carries. */
export function withCampaignParams(url: URL, params: CampaignParams): string {
  const out = new URL(url.href);
  const pairs: [string, string | undefined][] = [
    ['utm_source', params.source],
    ['utm_medium', params.medium],
    ['utm_campaign', params.campaign],
    ['utm_content', params.content],
  ];
  for (const [k, v] of pairs) if (v && !out.searchParams.has(k)) out.searchParams.set(k, v);
  return out.href;
}
