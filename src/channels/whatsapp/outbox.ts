import { profileSchema, type Profile } from '../../personalize/profile-schema.ts';
import type { Recommendations } from '../../personalize/recommendations-schema.ts';
import type { CartInput, OrderInput } from '../../render/render-input.ts';
import { renderMessage, type RenderDeps, type RenderResult } from '../../render/render-message.ts';
import type { Customer } from '../../store/customers-repository.ts';
import type { Store } from '../../store/index.ts';
import { fromMinor } from '../../commerce/money.ts';
import type { Order } from '../../store/orders-repository.ts';
import { latestInbound, whatsappWindow, type MessageCreateParams } from '../../render/whatsapp/render-whatsapp.ts';
import type { SendError, SendMeta, SendResult, WhatsAppSender } from './twilio-sender.ts';

export interface ProactiveRequest {
  customerId: string;
  template: string;
  recommendations?: Recommendations;
  cart?: CartInput;
  order?: OrderInput;
  campaignId?: string;
  messageId?: string;
}

export type ProactiveResult = SendResult & { render?: RenderResult };

export interface WhatsAppOutbox {
  /**
   * A session reply (text, media or session content). Refused with `outside_window` unless
   * the customer wrote within the last 24 hours: Twilio would fail it with 63016 anyway
   * (https://www.twilio.com/docs/api/errors/63016), and only an approved template may go.
   */
  reply(message: MessageCreateParams, meta: SendMeta & { lastInboundAt?: string }): Promise<SendResult>;
  /**
   * A business-initiated message: renders `template` for the stored customer, with the
   * 24-hour window from their last inbound message, and sends the session content inside the
   * window or the approved template outside it. Marketing templates are refused for customers
   * who opted out (STOP) or never consented.
   */
  send(request: ProactiveRequest): Promise<ProactiveResult>;
  /** The order-confirmation message for an order, in whichever form the window allows. */
  sendOrderConfirmation(order: Order): Promise<ProactiveResult>;
}

export interface OutboxDeps {
  sender: WhatsAppSender;
  store: Pick<Store, 'customers' | 'consents'>;
  renderDeps: RenderDeps;
  now?: () => Date;
}

function refused(code: SendError['code'], message: string): { ok: false; error: SendError } {
  return { ok: false, error: { code, message, retryable: false } };
}

/**
 * The render profile of a stored customer: the profile the campaign system sent, with the
 * identity, market and WhatsApp window inboxcart itself tracks laid over it.
 */
export function profileForCustomer(customer: Customer): Profile {
  const stored = customer.profile as Record<string, unknown>;
  const storedWa = typeof stored.whatsapp === 'object' && stored.whatsapp !== null ? (stored.whatsapp as { lastInboundAt?: string }) : {};
  const lastInboundAt = latestInbound(storedWa.lastInboundAt, customer.lastInboundAt);
  const base = {
    id: customer.id,
    ...(customer.phone ? { phone: customer.phone } : {}),
    locale: customer.locale,
    currency: customer.currency,
    timezone: customer.timezone,
    ...(lastInboundAt ? { whatsapp: { lastInboundAt } } : {}),
  };
  const parsed = profileSchema.safeParse({ ...stored, ...base });
  return parsed.success ? parsed.data : profileSchema.parse(base);
}

/**
 * A stored order as the order-confirmation template reads it (major units): the payment link
 * only while payment is open, the shipment once fulfilled.
 */
export function orderRenderInput(order: Order): OrderInput {
  return {
    number: order.number,
    currency: order.currency,
    total: fromMinor(order.totalMinor, order.currency),
    channel: order.channel,
    status: order.status,
    ...(order.paymentLink && order.status === 'awaiting_payment' ? { paymentLink: order.paymentLink } : {}),
    ...(order.fulfillment ? { carrier: order.fulfillment.carrier, trackingUrl: order.fulfillment.trackingUrl } : {}),
    lines: order.lines.map((l) => ({ sku: l.sku, title: l.title, ...(l.size ? { size: l.size } : {}), quantity: l.quantity, unitPrice: fromMinor(l.unitPriceMinor, order.currency) })),
  };
}

export function createWhatsAppOutbox(deps: OutboxDeps): WhatsAppOutbox {
  const now = deps.now ?? (() => new Date());

  async function send(request: ProactiveRequest): Promise<ProactiveResult> {
    const customer = await deps.store.customers.get(request.customerId);
    if (!customer) return refused('no_phone', `Customer ${request.customerId} is not registered (PUT /v1/customers), so there is no number to message.`);
    const category = deps.renderDeps.templates.templates.get(request.template)?.manifest.category ?? 'marketing';
    // A STOP withholds marketing only; a transactional message the customer caused still goes.
    const optedOut = category === 'marketing' && (await deps.store.consents.isOptedOut(customer.id, 'whatsapp'));
    const profile = profileForCustomer(customer);
    const render = renderMessage(
      {
        template: request.template,
        profile,
        recommendations: request.recommendations,
        cart: request.cart,
        order: request.order,
        channels: ['whatsapp'],
        context: { now: now().toISOString(), campaignId: request.campaignId, messageId: request.messageId },
      },
      { ...deps.renderDeps, whatsappOptedOut: () => optedOut },
    );
    const wa = render.whatsapp;
    if (!wa) return { ...refused('no_phone', `Template '${request.template}' has no WhatsApp part.`), render };
    if (wa.suppressed) {
      const why = { opted_out: 'the customer opted out (STOP)', no_consent: 'the customer has not consented to WhatsApp marketing', no_phone: 'the customer has no phone number' }[wa.reason];
      return { ...refused(wa.reason, `Not sent: ${why}.`), render };
    }
    return sendRendered(render, customer, request, category, profile.whatsapp?.lastInboundAt);
  }

  async function sendRendered(
    render: RenderResult,
    customer: Customer,
    request: ProactiveRequest,
    category: string,
    lastInboundAt: string | undefined,
  ): Promise<ProactiveResult> {
    const wa = render.whatsapp;
    if (!wa || wa.suppressed) return { ...refused('no_phone', 'Nothing to send.'), render };
    if (wa.kind === 'template' && !wa.message.contentSid) {
      return { ...refused('not_synced', `The approved template '${wa.contentKey}' has no contentSid yet; run: npx inboxcart twilio sync.`), render };
    }
    const meta = { customerId: customer.id, kind: wa.kind === 'template' ? `template:${category}` : `session:${category}`, template: request.template };
    const result = wa.kind === 'session' ? await reply(wa.message, { ...meta, lastInboundAt }) : await deps.sender.send(wa.message, meta);
    return { ...result, render };
  }

  async function reply(message: MessageCreateParams, meta: SendMeta & { lastInboundAt?: string }): Promise<SendResult> {
    if (whatsappWindow(meta.lastInboundAt, now()) === 'closed') {
      return refused(
        'outside_window',
        `Not sent: the customer last wrote ${meta.lastInboundAt ?? 'never'}, outside WhatsApp's 24-hour window; only an approved template may be sent (Twilio error 63016).`,
      );
    }
    const { lastInboundAt: _ignored, ...sendMeta } = meta;
    return deps.sender.send(message, sendMeta);
  }

  return {
    reply,
    send,
    sendOrderConfirmation: (order) =>
      send({ customerId: order.customerId, template: 'order-confirmation', order: orderRenderInput(order), messageId: `order-${order.number}` }),
  };
}
