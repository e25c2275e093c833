import type { Consent } from '../../store/consents-repository.ts';
import type { Customer } from '../../store/customers-repository.ts';
import type { Repositories } from '../../store/open-store.ts';
import type { Order } from '../../store/orders-repository.ts';

/** The `kind` of a queued WhatsApp item that confirms an order placed in another channel. */
export const ORDER_CONFIRMATION_KIND = 'order_confirmation';

/** Its queue key: one per order, however often it is queued. */
export function orderConfirmationKey(orderId: string): string {
  return `order:${orderId}:confirmation`;
}

/**
 * Whether an order placed in another channel is confirmed on WhatsApp (shared/DESIGN.md, "One
 * customer, one cart": "when the customer has consented to it"): the customer has a number and
 * a yes to WhatsApp, from the consent store when it holds a decision (a START, the consents
 * API; a STOP withholds it), else from the profile the campaign system sent.
 */
export function confirmsOnWhatsApp(customer: Pick<Customer, 'phone' | 'profile'>, decision: Consent | undefined): boolean {
  if (!customer.phone) return false;
  if (decision) return decision.granted;
  return (customer.profile as { consent?: { whatsapp?: unknown } }).consent?.whatsapp === true;
}

/**
 * Queues the WhatsApp confirmation of an order placed in another channel (an AMP checkout) in
 * `tx`, the order's own transaction: the order and its confirmation commit together
 * (transactional outbox), so a crash after the commit delays the confirmation but never loses
 * it. The message is rendered when it is sent, for the customer's window at that moment.
 * False, with nothing queued, when the customer is not to be messaged there.
 */
export async function queueOrderConfirmation(
  tx: Pick<Repositories, 'consents' | 'whatsappReplies'>,
  order: Order,
  customer: Customer,
  at: Date,
): Promise<boolean> {
  if (!confirmsOnWhatsApp(customer, await tx.consents.get(customer.id, 'whatsapp'))) return false;
  await tx.whatsappReplies.enqueue(orderConfirmationKey(order.id), [{ customerId: order.customerId, message: {}, meta: { kind: ORDER_CONFIRMATION_KIND, orderId: order.id } }], at);
  return true;
}
