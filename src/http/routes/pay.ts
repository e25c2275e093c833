import type { Request, Response } from 'express';
import Handlebars from 'handlebars';
import { verifyPaymentSignature } from '../../commerce/payment-link.ts';
import { formatMinor } from '../../commerce/money.ts';
import { canonicalLocale, FALLBACK_LOCALE, interpolate, resolveLocale, stringsIn, type LocaleTables } from '../../templates/locale-strings.ts';
import type { Store } from '../../store/index.ts';
import type { Brand } from '../../templates/brand.ts';
import type { Config } from '../../config.ts';
import { brandPage, brandPageHeaders } from '../brand-page.ts';

const esc = Handlebars.Utils.escapeExpression;

/**
 * GET /pay/:orderId?sig=… — where the payment links in emails and chats lead. The signature
 * lets the page trust the order id without a session. The page shows what is being paid and
 * hands the customer to the payment provider's hosted checkout (PAYMENT_PROVIDER_URL) with the
 * order reference and amount; card data never touches this service. The provider's
 * confirmation flows back through the shop's order system (POST /v1/orders/:id/status), and
 * from then on the page shows the order paid, or shipped with its tracking link. It speaks
 * the language the order was placed in and formats its money for that locale; before an order
 * is known (a bad link, an unknown order) it can only speak English.
 */
export function payRoutes(o: { config: Pick<Config, 'tokenKeys' | 'paymentProviderUrl' | 'publicBaseUrl'>; store: Store; brand: Brand; locales: LocaleTables }) {
  const english = stringsIn(o.locales, FALLBACK_LOCALE);
  return async (req: Request<{ orderId: string }>, res: Response): Promise<void> => {
    const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
    brandPageHeaders(res, 'https:');
    if (!verifyPaymentSignature(req.params.orderId, sig, o.config.tokenKeys)) {
      res.status(403).type('html').send(page(o.brand, FALLBACK_LOCALE, english('pay.invalidTitle'), `<p>${esc(english('pay.invalidBody'))}</p>`));
      return;
    }
    const order = await o.store.orders.get(req.params.orderId);
    if (!order) {
      res.status(404).type('html').send(page(o.brand, FALLBACK_LOCALE, english('pay.notFoundTitle'), `<p>${esc(english('pay.notFoundBody'))}</p>`));
      return;
    }
    const { locale, fellBack } = resolveLocale(order.locale ?? FALLBACK_LOCALE, o.locales);
    const intlLocale = (order.locale && canonicalLocale(order.locale)) ?? locale;
    const say = stringsIn(o.locales, locale);
    // The document language is the language of its strings, as in the emails (build-view.ts).
    const lang = fellBack ? FALLBACK_LOCALE : intlLocale;
    const total = formatMinor(order.totalMinor, order.currency, intlLocale);
    const lines = order.lines
      .map((l) => `<li>${l.quantity} × ${esc(l.title)}${l.size ? `, ${esc(l.size)}` : ''} — ${esc(formatMinor(l.unitPriceMinor, order.currency, intlLocale))}</li>`)
      .join('');
    // Values go in as markup, so the strings are escaped before they are filled in.
    const summary = `<p>${interpolate(esc(say('pay.order')), { number: `<strong>${esc(order.number)}</strong>` })}</p><ul>${lines}</ul><p>${interpolate(esc(say('pay.total')), { total: `<strong>${esc(total)}</strong>` })}</p>`;
    if (order.status !== 'awaiting_payment') {
      // Once the shop reports it paid (or charged the saved card: placed), the link says so and offers no second payment.
      const shipped = order.fulfillment;
      const tracking = shipped
        ? `<p>${esc(say('pay.shippedBody', { carrier: shipped.carrier }))}</p><p><a class="btn" href="${esc(shipped.trackingUrl)}">${esc(say('pay.trackButton'))}</a></p>`
        : '';
      const title = { placed: 'pay.paidTitle', paid: 'pay.paidTitle', fulfilled: 'pay.shippedTitle', cancelled: 'pay.cancelledTitle', refunded: 'pay.refundedTitle' }[order.status];
      res.type('html').send(page(o.brand, lang, say(title), order.status === 'fulfilled' ? `${summary}${tracking}` : summary));
      return;
    }
    if (!o.config.paymentProviderUrl) {
      res.type('html').send(page(o.brand, lang, say('pay.unavailableTitle'), `${summary}<p>${esc(say('pay.unavailableBody'))}</p>`));
      return;
    }
    const checkout = new URL(o.config.paymentProviderUrl);
    checkout.searchParams.set('reference', order.number);
    checkout.searchParams.set('order', order.id);
    checkout.searchParams.set('amount', String(order.totalMinor));
    checkout.searchParams.set('currency', order.currency);
    res.type('html').send(page(o.brand, lang, say('pay.payTitle'), `${summary}<p><a class="btn" href="${esc(checkout.href)}">${esc(say('pay.payButton', { total }))}</a></p>`));
  };
}

function page(brand: Brand, lang: string, title: string, body: string): string {
  return brandPage(brand, { lang, title, body });
}
