import type { Request, Response } from 'express';
import Handlebars from 'handlebars';
import { verifyPaymentSignature } from '../../commerce/payment-link.ts';
import { formatMoney } from '../../render/format.ts';
import { fromMinor } from '../../store/money.ts';
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
 * confirmation flows back through the shop's order system, not through this page.
 */
export function payRoutes(o: { config: Pick<Config, 'tokenKeys' | 'paymentProviderUrl' | 'publicBaseUrl'>; store: Store; brand: Brand }) {
  return async (req: Request<{ orderId: string }>, res: Response): Promise<void> => {
    const sig = typeof req.query.sig === 'string' ? req.query.sig : '';
    brandPageHeaders(res, 'https:');
    if (!verifyPaymentSignature(req.params.orderId, sig, o.config.tokenKeys)) {
      res.status(403).type('html').send(page(o.brand, 'This payment link is not valid', '<p>Please use the link from your latest message, or contact us.</p>'));
      return;
    }
    const order = await o.store.orders.get(req.params.orderId);
    if (!order) {
      res.status(404).type('html').send(page(o.brand, 'Order not found', '<p>We could not find this order. Please contact us.</p>'));
      return;
    }
    const total = formatMoney(fromMinor(order.totalMinor, order.currency), order.currency, 'en');
    const lines = order.lines
      .map((l) => `<li>${l.quantity} × ${esc(l.title)}${l.size ? `, ${esc(l.size)}` : ''} — ${esc(formatMoney(fromMinor(l.unitPriceMinor, order.currency), order.currency, 'en'))}</li>`)
      .join('');
    const summary = `<p>Order <strong>${esc(order.number)}</strong></p><ul>${lines}</ul><p>Total <strong>${esc(total)}</strong></p>`;
    if (order.status !== 'awaiting_payment') {
      res.type('html').send(page(o.brand, order.status === 'placed' ? 'This order is paid' : 'This order is cancelled', summary));
      return;
    }
    if (!o.config.paymentProviderUrl) {
      res.type('html').send(page(o.brand, 'Almost done', `${summary}<p>Online payment is not available right now. Your items are reserved; we will contact you to complete the payment.</p>`));
      return;
    }
    const checkout = new URL(o.config.paymentProviderUrl);
    checkout.searchParams.set('reference', order.number);
    checkout.searchParams.set('order', order.id);
    checkout.searchParams.set('amount', String(order.totalMinor));
    checkout.searchParams.set('currency', order.currency);
    res.type('html').send(page(o.brand, 'Complete your payment', `${summary}<p><a class="btn" href="${esc(checkout.href)}">Pay ${esc(total)}</a></p>`));
  };
}

function page(brand: Brand, title: string, body: string): string {
  return brandPage(brand, { lang: 'en', title, body });
}
