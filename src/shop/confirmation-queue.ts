import type { Consent } from '../store/consents-repository.ts';
import type { Customer } from '../store/customers-repository.ts';
import type { Repositories } from '../store/open-store.ts';
import type { Order, OrderStatus } from '../store/orders-repository.ts';

/** The `kind` of a queued WhatsApp item that confirms an order placed in another channel. */
export const ORDER_CONFIRMATION_KIND = 'order_confirmation';

/** Its queue key: one per order, however often it is queued. */
export function orderConfirmationKey(orderId: string): string {
  return `order:${orderId}:confirmation`;
}

/** The `kind` of a queued WhatsApp item that tells the customer their order changed (it shipped). */
export const ORDER_UPDATE_KIND = 'order_update';

/** Its queue key: one per order and status, however often the shop reports that status. */
export function orderUpdateKey(orderId: string, status: OrderStatus): string {
  return `order:${orderId}:${status}`;
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

/**
 * Whether the customer hears on WhatsApp how their order goes on (it shipped). An order placed
 * in the chat was placed by the number it would go to, so a transactional update goes there as
 * the confirmation did (a STOP withholds marketing, not this); an order placed elsewhere follows
 * the rule of its confirmation (`confirmsOnWhatsApp`).
 */
export function updatesOnWhatsApp(order: Pick<Order, 'channel'>, customer: Pick<Customer, 'phone' | 'profile'>, decision: Consent | undefined): boolean {
  if (order.channel === 'whatsapp') return Boolean(customer.phone);
  return confirmsOnWhatsApp(customer, decision);
}

/**
 * Queues the WhatsApp update of an order that reached `order.status` in `tx`, the transaction
 * of the status change, like the confirmation above: rendered when it is sent, session text
 * inside the 24-hour window, the approved template outside it. False, with nothing queued,
 * when the customer is not to be messaged there.
 */
export async function queueOrderUpdate(
  tx: Pick<Repositories, 'consents' | 'whatsappReplies'>,
  order: Order,
  customer: Customer,
  at: Date,
): Promise<boolean> {
  if (!updatesOnWhatsApp(order, customer, await tx.consents.get(customer.id, 'whatsapp'))) return false;
  await tx.whatsappReplies.enqueue(orderUpdateKey(order.id, order.status), [{ customerId: order.customerId, message: {}, meta: { kind: ORDER_UPDATE_KIND, orderId: order.id, status: order.status } }], at);
  return true;
}
