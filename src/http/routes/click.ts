import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { verifyClickToken, type ClickLink } from '../../commerce/click-token.ts';
import type { SigningKey } from '../../commerce/signed-token.ts';
import { checkUrl } from '../../shared/safe-url.ts';
import type { ResultsRepository } from '../../store/results-repository.ts';
import type { Store } from '../../store/index.ts';
import { HttpError } from '../http-error.ts';

export interface ClickRouteDeps {
  keys: readonly SigningKey[];
  store: Pick<Store, 'products'>;
  results: Pick<ResultsRepository, 'recordEvent'>;
  /** The brand's shop: always an allowed host, and where a link that may not be followed goes instead. */
  shopUrl: string;
  now: () => Date;
  logger?: Pick<Logger, 'warn'>;
}

/**
 * GET /c/:token — a tracked product link (commerce/click-token.ts): counts the click and
 * answers 302 to the product page. The destination is followed only when its host is the
 * catalog product's or the shop's, so even a token signed with a leaked key is no open
 * redirect; otherwise the customer lands on the shop. A tampered token is a 400; an expired
 * one (a year-old email) still takes the customer to the shop, uncounted.
 */
export function clickRoute(deps: ClickRouteDeps) {
  return async (req: Request<{ token: string }>, res: Response) => {
    res.set('Cache-Control', 'no-store');
    const verdict = verifyClickToken(req.params.token, deps.keys, deps.now());
    if (!verdict.ok && verdict.reason === 'expired') {
      res.redirect(302, deps.shopUrl);
      return;
    }
    if (!verdict.ok) throw new HttpError(400, 'invalid_token', 'This link is not valid: it was changed or cut short. Open the product from the email again, or visit the shop.');
    const link = verdict.link;
    const destination = await allowedDestination(link, deps);
    if (!destination) deps.logger?.warn({ campaignId: link.campaignId, sku: link.sku }, 'tracked link points outside the catalog product and the shop; sent to the shop instead');
    await deps.results.recordEvent({ kind: 'click', channel: 'email', campaignId: link.campaignId, messageId: link.messageId, variant: link.variant, customerId: link.customerId, sku: link.sku });
    res.redirect(302, destination ?? deps.shopUrl);
  };
}

async function allowedDestination(link: ClickLink, deps: ClickRouteDeps): Promise<string | undefined> {
  const url = checkUrl(link.url, 'link');
  if (!url) return undefined;
  const hosts = new Set<string>();
  const shop = checkUrl(deps.shopUrl, 'link');
  if (shop) hosts.add(shop.host);
  const product = await deps.store.products.get(link.sku);
  const productUrl = product ? checkUrl(product.url, 'link') : undefined;
  if (productUrl) hosts.add(productUrl.host);
  return hosts.has(url.host) ? url.href : undefined;
}
