import type twilio from 'twilio';

/**
 * What twilio-node needs from an HTTP client (`ClientOpts.httpClient`, documented in
 * twilio-node's advanced-examples/custom-http-client.md). Tests pass a wrapper around
 * `new twilio.RequestClient()` that points at a local fake API.
 */
export type TwilioHttpClient = Pick<twilio.RequestClient, 'request'>;


/**
 * The Twilio products inboxcart calls, by the first label of the host twilio-node addresses:
 * api.twilio.com (Messages) and content.twilio.com (Content API). TWILIO_EDGE/TWILIO_REGION
 * insert labels after it (api.dublin.ie1.twilio.com, facts §4), which a base URL overrides too.
 */
const REBASED_PRODUCTS = new Set(['api', 'content']);

/**
 * Where a request twilio-node addressed to Twilio goes when TWILIO_API_BASE_URL is set: the
 * base URL (path prefix included) followed by Twilio's own path and query. One base URL serves
 * both hosts because their paths do not overlap: api.twilio.com's start with /2010-04-01/,
 * content.twilio.com's with /v1/Content.
 *
 * A host with no mapping is refused rather than sent to Twilio: a staging service that is
 * pointed elsewhere must not reach the real API through a call added later.
 *
 * @example
 * rebaseTwilioUri('https://api.twilio.com/2010-04-01/Accounts/AC…/Messages.json', 'https://proxy.example/twilio')
 * // 'https://proxy.example/twilio/2010-04-01/Accounts/AC…/Messages.json'
 * rebaseTwilioUri('https://content.twilio.com/v1/Content?PageSize=50', 'https://proxy.example/twilio')
 * // 'https://proxy.example/twilio/v1/Content?PageSize=50'
 */
export function rebaseTwilioUri(uri: string, baseUrl: string): string {
  const target = new URL(uri);
  const product = target.hostname.split('.')[0] ?? '';
  if (!target.hostname.endsWith('.twilio.com') || !REBASED_PRODUCTS.has(product)) {
    throw new Error(
      `TWILIO_API_BASE_URL stands in for api.twilio.com and content.twilio.com only; twilio-node called ${target.host}, which is refused rather than sent to Twilio. Map that host in twilio-base-url.ts.`,
    );
  }
  return `${baseUrl}${target.pathname}${target.search}`;
}

/**
 * A twilio-node transport that sends every call to `baseUrl` instead of Twilio's hosts,
 * through `inner` — the documented `httpClient` extension point
 * (twilio-node advanced-examples/custom-http-client.md), not the undocumented `client.api.baseUrl`.
 * Credentials, headers and bodies pass unchanged: the endpoint gets the same Basic auth Twilio would.
 */
export function rebasedHttpClient(baseUrl: string, inner: TwilioHttpClient): TwilioHttpClient {
  return {
    async request(opts) {
      return inner.request({ ...opts, uri: rebaseTwilioUri(opts.uri, baseUrl) });
    },
  };
}
