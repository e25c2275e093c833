import express, { type Request, type Response, type Router } from 'express';
import Handlebars from 'handlebars';
import { recordEmailUnsubscribed } from '../../shop/shop-events.ts';
import { verifyUnsubscribeToken } from '../../commerce/unsubscribe-token.ts';
import { interpolate, resolveLocale, type LocaleTables } from '../../templates/locale-strings.ts';
import type { Store } from '../../store/index.ts';
import type { Brand } from '../../templates/brand.ts';
import type { Config } from '../../config.ts';
import { brandPage, brandPageHeaders } from '../brand-page.ts';
import type { Logger } from '../logger.ts';
import { acceptLanguage } from '../accept-language.ts';

const esc = Handlebars.Utils.escapeExpression;

type PageKey = 'confirmTitle' | 'confirmBody' | 'confirmButton' | 'doneTitle' | 'doneBody' | 'invalidTitle' | 'invalidBody' | 'expiredTitle' | 'expiredBody';

export interface UnsubscribeDeps {
  config: Pick<Config, 'tokenKeys'>;
  store: Pick<Store, 'consents' | 'transaction'>;
  brand: Brand;
  locales: LocaleTables;
  logger: Pick<Logger, 'info'>;
  now?: () => Date;
}

/**
 * `/u/<token>`: the per-recipient unsubscribe link of every marketing email (List-Unsubscribe,
 * footer, text part). A POST unsubscribes: the one-click POST of RFC 8058 that Gmail and Yahoo
 * send with `List-Unsubscribe=One-Click`, or the button on the page. A GET only shows that
 * page, because link scanners and previews follow GETs. The signed token is the only
 * credential: no login, no cookie. A tampered or expired token changes nothing and says so.
 */
export function unsubscribeRoutes(deps: UnsubscribeDeps): Router {
  const now = deps.now ?? (() => new Date());
  const brandName = deps.brand.name;

  function say(locale: string | undefined, key: PageKey): string {
    const { locale: resolved } = resolveLocale(locale ?? 'en', deps.locales);
    const text = deps.locales.get(resolved)?.get(`unsubscribePage.${key}`) ?? deps.locales.get('en')?.get(`unsubscribePage.${key}`) ?? key;
    return interpolate(text, { brand: brandName });
  }

  function send(res: Response, status: number, locale: string | undefined, title: PageKey, body: string): void {
    const { locale: lang } = resolveLocale(locale ?? 'en', deps.locales);
    res.status(status).type('html').send(brandPage(deps.brand, { lang, title: say(locale, title), body }));
  }

  /** The verdict on the token, or the page that says why it cannot be used (already sent). */
  function verified(req: Request<{ token: string }>, res: Response) {
    brandPageHeaders(res, "'self'");
    const verdict = verifyUnsubscribeToken(req.params.token, deps.config.tokenKeys, now());
    if (verdict.ok) return verdict.claims;
    if (verdict.reason === 'expired') send(res, 410, verdict.loc ?? acceptLanguage(req), 'expiredTitle', `<p>${esc(say(verdict.loc ?? acceptLanguage(req), 'expiredBody'))}</p>`);
    else send(res, 400, acceptLanguage(req), 'invalidTitle', `<p>${esc(say(acceptLanguage(req), 'invalidBody'))}</p>`);
    return undefined;
  }

  const router = express.Router();
  // RFC 8058's body is `List-Unsubscribe=One-Click`, form-encoded or multipart. The POST itself
  // is the request (the token says who), so the body is read only to keep it small.
  router.use(express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 10 }));

  router.get('/:token', async (req: Request<{ token: string }>, res) => {
    const claims = verified(req, res);
    if (!claims) return;
    if (await deps.store.consents.isOptedOut(claims.sub, 'email')) {
      send(res, 200, claims.loc, 'doneTitle', `<p>${esc(say(claims.loc, 'doneBody'))}</p>`);
      return;
    }
    // Posts back to this same URL, with the same field as a one-click POST.
    const form = `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><input type="hidden" name="via" value="page"><button class="btn" type="submit">${esc(say(claims.loc, 'confirmButton'))}</button></form>`;
    send(res, 200, claims.loc, 'confirmTitle', `<p>${esc(say(claims.loc, 'confirmBody'))}</p>${form}`);
  });

  router.post('/:token', async (req: Request<{ token: string }>, res) => {
    const claims = verified(req, res);
    if (!claims) return;
    // Idempotent: a second POST (Gmail retries, a double click) keeps the first record's time and
    // source, and tells the shop nothing new. The opt-out and its event commit together.
    const source = (req.body as Record<string, unknown> | undefined)?.via === 'page' ? 'email:unsubscribe-page' : 'email:one-click';
    const unsubscribed = await deps.store.transaction(async (tx) => {
      if (await tx.consents.isOptedOut(claims.sub, 'email')) return false;
      await tx.consents.set(claims.sub, 'email', false, source);
      await recordEmailUnsubscribed(tx, { customerId: claims.sub, source, ...(claims.cmp === undefined ? {} : { campaignId: claims.cmp }) });
      return true;
    });
    if (unsubscribed) deps.logger.info({ customerId: claims.sub, campaignId: claims.cmp }, 'customer unsubscribed from marketing email');
    send(res, 200, claims.loc, 'doneTitle', `<p>${esc(say(claims.loc, 'doneBody'))}</p>`);
  });

  return router;
}
