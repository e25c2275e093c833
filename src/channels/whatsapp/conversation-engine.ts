import type { Logger } from 'pino';
import { cartSummary } from '../../shop/cart-summary.ts';
import { linesDigest as digest } from '../../shop/lines-digest.ts';
import { messageCart, storeCartWins } from '../../shop/message-cart.ts';
import { checkout, quote, type Quote, type Refusal } from '../../shop/checkout.ts';
import { formatMinor } from '../../commerce/money.ts';
import { percentOffFor, productView } from '../../commerce/product-view.ts';
import { recordWhatsappOptedOut } from '../../shop/shop-events.ts';
import type { Product } from '../../commerce/product-schema.ts';
import type { SigningKey } from '../../commerce/signed-token.ts';
import { preferredSize } from '../../personalize/preferred-size.ts';
import { truncate } from '../../templates/handlebars-env.ts';
import { canonicalLocale, interpolate, resolveLocale } from '../../templates/locale-strings.ts';
import { renderMessage, type RenderDeps } from '../../render/render-message.ts';
import type { Address, Customer } from '../../store/customers-repository.ts';
import type { Order, Repositories } from '../../store/index.ts';
import { atomically } from '../../store/transactions.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import { CONVERSATION_TTL_MS, idleState, loadState, newFlowId, toJson, type FlowState } from './conversation-state.ts';
import { boundTo, chatPayload, parseTap, type ChatAction, type Tap, type TapOffer } from './conversation-payloads.ts';
import { payloadOwner } from '../../render/whatsapp/message-payloads.ts';
import { activeDiscount, chatCheckoutRequest, chatPurchase, confirmedPurchase } from './chat-checkout.ts';
import { fold, keywordOf, localeForPhone, matchLabel, matchPartial, numberOf, type Keyword } from './conversation-text.ts';
import { orderRenderInput, profileForCustomer } from './outbox.ts';
import { sessionMessage, type MessageCreateParams, type WhatsAppPreview } from '../../render/whatsapp/render-whatsapp.ts';
import { charLength, WHATSAPP_LIMITS } from '../../templates/whatsapp-limits.ts';

/** One inbound WhatsApp message, as the webhook parsed it. */
export interface InboundMessage {
  messageSid: string;
  /** `whatsapp:+E164`. */
  from: string;
  body: string;
  /**
   * The id of what was tapped: `ButtonPayload` for a quick-reply button, `ListId` for a
   * list-picker row. Absent for typed text.
   */
  tapId?: string;
  receivedAt: Date;
}

export interface OutgoingReply {
  message: MessageCreateParams;
  /** For the message log: 'reply' or 'order-confirmation'. */
  kind: string;
  template?: string;
}

export interface HandleResult {
  customerId?: string;
  /** The inbound time: replies are inside the 24-hour window it opened. */
  lastInboundAt: string;
  replies: OutgoingReply[];
  /** The order this message placed (or found already placed), if any. */
  order?: Order;
}

export interface ConversationDeps {
  /**
   * The repositories of the transaction the message is handled in (`store.transaction`): the
   * conversation step, its order and consents commit with the webhook's claim and replies.
   */
  store: Repositories;
  templates: TemplateSet;
  keys: readonly SigningKey[];
  publicBaseUrl: string;
  contentSid: (key: string) => string | undefined;
  renderDeps: RenderDeps;
  logger: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  now?: () => Date;
}

export interface ConversationEngine {
  /**
   * Advances the customer's conversation by one inbound message and returns the replies to
   * send. Idempotency on MessageSid is the caller's job (webhook retries); this handles
   * concurrency: the conversation is saved with optimistic versioning and, if another
   * instance saved first, what the attempt wrote is rolled back to a savepoint, the
   * conversation reloaded and the message applied to the newer state.
   */
  handle(inbound: InboundMessage): Promise<HandleResult>;
}

/** Quantities offered and accepted in chat; larger orders go through the shop. */
const MAX_QUANTITY = 10;
const SAVE_ATTEMPTS = 5;
/** Lines listed in a cart or confirmation before "…": keeps rich bodies under 1,024 characters. */
const MAX_LINES_SHOWN = 8;

/** Another message's turn saved the conversation first: this attempt is undone and redone. */
class ConcurrentSave extends Error {}

type Reply = { preview: WhatsAppPreview; kind?: string } | OutgoingReply;

interface Outcome {
  state: FlowState;
  replies: Reply[];
  order?: Order;
}

/** What the customer answered, whether tapped or typed, once the tap is known to be current. */
type Answer =
  | { kind: 'yes' | 'no' | 'change' | 'checkout' }
  | { kind: 'size'; size: string }
  | { kind: 'quantity'; quantity: number }
  | { kind: 'pick'; sku: string }
  | { kind: 'text'; text: string };

interface Turn {
  customer: Customer;
  say: (key: string, values?: Record<string, unknown>) => string;
  intlLocale: string;
  /** The stored version the turn started from: part of the order's idempotency key. */
  version: number;
  now: Date;
}

/**
 * The WhatsApp purchase conversation (shared/DESIGN.md, "WhatsApp: two-way commerce"): offer →
 * product → size (the customer's usual size first, sold-out sizes never offered) → quantity →
 * confirm with the saved address → order (priced from the catalog; a payment link when no
 * payment method is on file) → confirmation. Compliance words (STOP/START) are handled before
 * anything else; HELP, CART and CANCEL work at every step; anything not understood repeats
 * the current question instead of ending the conversation.
 */
export function createConversationEngine(deps: ConversationDeps): ConversationEngine {
  const { store, templates, keys } = deps;
  const brand = templates.shared.brand;
  const locales = templates.shared.locales;
  const accountUrl = new URL('account', brand.shopUrl).href;
  const cartUrl = new URL('cart', brand.shopUrl).href;

  function sayer(locale: string) {
    const table = locales.get(locale);
    const english = locales.get('en');
    return (key: string, values: Record<string, unknown> = {}) => interpolate(table?.get(key) ?? english?.get(key) ?? key, values);
  }

  const text = (body: string): Reply => ({ preview: { type: 'twilio/text', body } });
  const withPrefix = (prefix: string | undefined, body: string) => (prefix ? `${prefix}\n${body}` : body);

  function quick(body: string, buttons: { id: string; title: string }[]): Reply {
    return {
      preview: {
        type: 'twilio/quick-reply',
        body: limitBody(body),
        buttons: buttons.slice(0, WHATSAPP_LIMITS.sessionQuickReplies).map((b) => ({ type: 'QUICK_REPLY', id: b.id, title: truncate(b.title, WHATSAPP_LIMITS.buttonTitle) })),
      },
    };
  }

  function list(body: string, button: string, items: { id: string; item: string; description: string }[]): Reply {
    return {
      preview: {
        type: 'twilio/list-picker',
        body: limitBody(body),
        list: {
          button: truncate(button, WHATSAPP_LIMITS.listButton),
          items: items.slice(0, WHATSAPP_LIMITS.listItems).map((r) => ({
            id: r.id,
            item: truncate(r.item, WHATSAPP_LIMITS.listItemTitle),
            description: truncate(r.description, WHATSAPP_LIMITS.listItemDescription),
          })),
        },
      },
    };
  }

  /** Sizes (or quantities) as quick replies when they fit in three buttons, else a list. */
  function choices(t: Turn, body: string, options: { id: string; title: string; description: string }[]): Reply {
    if (options.length <= WHATSAPP_LIMITS.sessionQuickReplies) return quick(body, options);
    return list(body, t.say('chat.listButton'), options.map((o) => ({ id: o.id, item: o.title, description: o.description })));
  }

  const pay = (flowId: string, action: ChatAction, value?: string) => chatPayload(keys, flowId, action, value);

  /** The price the chat asks: what the message showed for the product (its view), and what checkout charges. */
  function priceText(t: Turn, product: Product, state: FlowState): string {
    const view = productView(product, { currency: t.customer.currency, intlLocale: t.intlLocale, percentOff: percentOffFor(activeDiscount(state, t.now), product.sku) });
    return view.offerPriceText ?? view.priceText;
  }

  function greeting(t: Turn, state: FlowState, prefix?: string): Outcome {
    const name = typeof t.customer.profile.firstName === 'string' ? t.customer.profile.firstName.trim() : '';
    const body = name ? t.say('chat.greeting', { name: truncate(name, 64) }) : t.say('chat.greetingAnonymous');
    const next: FlowState = { ...idleState(), ...(state.step === 'done' ? { orderNumber: state.orderNumber, orderId: state.orderId } : {}) };
    return {
      state: next,
      replies: [
        quick(withPrefix(prefix, body), [
          { id: pay(next.flowId, 'cart'), title: t.say('chat.button.cart') },
          { id: pay(next.flowId, 'help'), title: t.say('chat.button.help') },
        ]),
      ],
    };
  }

  async function goProduct(t: Turn, state: FlowState, prefix?: string): Promise<Outcome> {
    const products = (await store.products.getMany(state.offer ?? [])).filter((p) => p.sizes.some((s) => s.stock > 0)).slice(0, WHATSAPP_LIMITS.listItems);
    if (products.length === 0) return greeting(t, state, withPrefix(prefix, t.say('chat.unavailable')));
    if (products.length === 1) return goSize(t, { ...state, step: 'size', sku: products[0]!.sku }, prefix);
    const next: FlowState = { ...state, step: 'product', offer: products.map((p) => p.sku) };
    return {
      state: next,
      replies: [
        list(
          withPrefix(prefix, t.say('chat.chooseProduct')),
          t.say('chat.listButton'),
          products.map((p) => ({ id: pay(next.flowId, 'pick', p.sku), item: p.title, description: priceText(t, p, next) })),
        ),
      ],
    };
  }

  /**
   * In-stock sizes as the size step offers and numbers them: the size the message pre-selected
   * first, then the customer's usual size in the category, then the rest in catalog order.
   * Only the usual size is called "your size": a pre-selection may just be the first in stock.
   */
  function sizeOptions(t: Turn, state: FlowState, product: Product): { sizes: string[]; preferred?: string } {
    const inStock = product.sizes.filter((s) => s.stock > 0).map((s) => s.size);
    const usual = preferredSize(profileForCustomer(t.customer), product.category);
    const preferred = usual !== undefined && inStock.includes(usual) ? usual : undefined;
    const first = [state.preferredSize, preferred].filter((s): s is string => s !== undefined && s !== '' && inStock.includes(s));
    return { sizes: [...new Set([...first, ...inStock])], preferred };
  }

  async function goSize(t: Turn, state: FlowState, prefix?: string): Promise<Outcome> {
    const product = state.sku ? await store.products.get(state.sku) : undefined;
    if (!product) return greeting(t, state, withPrefix(prefix, t.say('chat.unavailable')));
    const { sizes, preferred } = sizeOptions(t, state, product);
    if (sizes.length === 0) {
      const soldOut = withPrefix(prefix, t.say('chat.soldOut', { title: product.title }));
      const others = (state.offer ?? []).filter((s) => s !== product.sku);
      return others.length ? goProduct(t, { ...state, offer: others }, soldOut) : greeting(t, state, soldOut);
    }
    // One size (one-size items, or the last size left): nothing to choose.
    if (sizes.length === 1) return goQuantity(t, { ...state, step: 'quantity', size: sizes[0]! }, prefix);
    const next: FlowState = { ...state, step: 'size', mode: 'item' };
    const body = preferred
      ? t.say('chat.chooseSizePreferred', { title: product.title, price: priceText(t, product, state), size: preferred })
      : t.say('chat.chooseSize', { title: product.title, price: priceText(t, product, state) });
    const options = sizes.slice(0, WHATSAPP_LIMITS.listItems).map((size) => ({
      id: pay(next.flowId, 'size', size),
      title: size,
      description: t.say(size === preferred ? 'chat.sizeRowPreferred' : 'chat.sizeRow'),
    }));
    return { state: next, replies: [choices(t, withPrefix(prefix, body), options)] };
  }

  async function goQuantity(t: Turn, state: FlowState, prefix?: string): Promise<Outcome> {
    const product = state.sku ? await store.products.get(state.sku) : undefined;
    if (!product) return greeting(t, state, withPrefix(prefix, t.say('chat.unavailable')));
    const next: FlowState = { ...state, step: 'quantity', mode: 'item' };
    const oneSize = product.sizes.length <= 1;
    const body = oneSize ? t.say('chat.chooseQuantityNoSize', { title: product.title }) : t.say('chat.chooseQuantity', { title: product.title, size: state.size });
    const stock = product.sizes.find((s) => s.size === state.size)?.stock ?? 0;
    if (stock === 0) return goSize(t, { ...state, step: 'size', size: undefined }, withPrefix(prefix, t.say('chat.outOfStock', { title: product.title, size: state.size })));
    const options = [1, 2, 3].filter((n) => n <= stock).map((n) => ({ id: pay(next.flowId, 'qty', String(n)), title: String(n), description: '' }));
    return { state: next, replies: [quick(withPrefix(prefix, body), options)] };
  }

  async function goCart(t: Turn, state: FlowState, prefix?: string): Promise<Outcome> {
    const cart = await store.carts.get(t.customer.id);
    const next: FlowState = { flowId: state.step === 'cart' ? state.flowId : newFlowId(), step: 'cart', mode: 'cart', ...(state.messageId ? { messageId: state.messageId } : {}) };
    if (cart.items.length === 0) return greeting(t, state, withPrefix(prefix, t.say('chat.cartEmpty')));
    const products = await store.products.getMany(cart.items.map((i) => i.sku));
    const summary = cartSummary(cart.items, products, {
      currency: t.customer.currency,
      intlLocale: t.intlLocale,
      freeShippingThreshold: brand.freeShippingThreshold,
      placeholderImage: brand.placeholderImage,
    });
    const lines = summary.items.map((l) =>
      l.available
        ? t.say(l.size ? 'chat.lineSized' : 'chat.line', { quantity: l.quantity, title: l.title, size: l.size, price: l.unitPriceText })
        : `${l.quantity} × ${l.title} — ${t.say('chat.unavailable')}`,
    );
    const shipping = summary.freeShipping
      ? summary.freeShipping.reached
        ? t.say('cart.freeShippingReached')
        : t.say('cart.freeShipping', { amount: summary.freeShipping.remainingText })
      : '';
    const body = [t.say('chat.cartIntro'), ...shown(lines), t.say('chat.cartTotal', { total: summary.subtotalText }), shipping, t.say('chat.cartCheckout')].filter(Boolean).join('\n');
    return {
      state: next,
      replies: [
        quick(withPrefix(prefix, body), [
          { id: pay(next.flowId, 'checkout'), title: t.say('chat.button.checkout') },
          { id: pay(next.flowId, 'cancel'), title: t.say('chat.button.cancel') },
        ]),
      ],
    };
  }

  /** A refused purchase as the customer should hear it, and where the conversation goes back to. */
  function refused(t: Turn, state: FlowState, refusal: Refusal, prefix?: string): Promise<Outcome> | Outcome {
    const title = refusal.title ?? refusal.sku ?? '';
    if (refusal.code === 'empty') return greeting(t, state, withPrefix(prefix, t.say('chat.cartEmpty')));
    if (refusal.code === 'out_of_stock') {
      const message = withPrefix(prefix, t.say('chat.outOfStock', { title, size: refusal.size }));
      return state.mode === 'cart' ? goCart(t, state, message) : goSize(t, { ...state, size: undefined, quantity: undefined }, message);
    }
    // The shared cart was checked out in the email (or changed) since the customer saw the total.
    if (refusal.code === 'cart_changed') return goConfirm(t, state, withPrefix(prefix, t.say('chat.cartChanged')));
    if (refusal.code === 'idempotency_key_reused') {
      deps.logger.error({ customerId: t.customer.id, flowId: state.flowId }, `WhatsApp order refused: ${refusal.code}`);
      return greeting(t, state, withPrefix(prefix, t.say('chat.orderFailed')));
    }
    return state.mode === 'cart' ? goCart(t, state, withPrefix(prefix, t.say('chat.unavailable'))) : greeting(t, state, withPrefix(prefix, t.say('chat.unavailable')));
  }

  async function goConfirm(t: Turn, state: FlowState, prefix?: string): Promise<Outcome> {
    const purchase = chatPurchase(state);
    const q: Quote = purchase ? await quote(store, chatCheckoutRequest(t.customer.id, state, purchase, t.now)) : { kind: 'refused', code: 'empty' };
    if (q.kind === 'refused') return refused(t, state, q, prefix);
    const priced = q.priced;
    const next: FlowState = { ...state, step: 'confirm', ...(state.mode === 'cart' ? { cartDigest: digest(q.lines) } : {}) };
    const address = t.customer.address;
    if (!address) return { state: next, replies: [text(withPrefix(prefix, t.say('chat.noAddress', { url: accountUrl })))] };
    const lines = priced.lines.map((l) =>
      // Unit prices, as the order confirmation lists them; the total follows.
      t.say(l.size ? 'chat.lineSized' : 'chat.line', { quantity: l.quantity, title: l.title, size: l.size, price: formatMinor(l.unitPriceMinor, priced.currency, t.intlLocale) }),
    );
    const body = t.say('chat.confirm', { lines: shown(lines).join('\n'), total: formatMinor(priced.totalMinor, priced.currency, t.intlLocale), address: addressSummary(address) });
    return {
      state: next,
      replies: [
        quick(withPrefix(prefix, body), [
          { id: pay(next.flowId, 'yes'), title: t.say('chat.button.yes') },
          { id: pay(next.flowId, 'change'), title: t.say('chat.button.change') },
          { id: pay(next.flowId, 'cancel'), title: t.say('chat.button.cancel') },
        ]),
      ],
    };
  }

  async function placeConfirmed(t: Turn, state: FlowState): Promise<Outcome> {
    const purchase = confirmedPurchase(state);
    // A confirm step that names nothing confirmed (saved without its cart digest) asks again.
    if (!purchase) return goConfirm(t, state);
    const outcome = await checkout({ store, keys, publicBaseUrl: deps.publicBaseUrl, now: () => t.now }, chatCheckoutRequest(t.customer.id, state, purchase, t.now));
    switch (outcome.kind) {
      case 'order':
        return ordered(t, state, outcome.order, outcome.created);
      case 'continue_in_shop':
        return { state, replies: [text(t.say('chat.noAddress', { url: accountUrl }))] };
      case 'refused':
        return refused(t, state, outcome);
    }
  }

  /** The confirm step's order, new or found again: the same confirmation either way. */
  function ordered(t: Turn, state: FlowState, order: Order, created: boolean): Outcome {
    deps.logger.info({ customerId: t.customer.id, orderId: order.id, number: order.number, created }, 'WhatsApp order placed');
    return { state: { flowId: state.flowId, step: 'done', orderId: order.id, orderNumber: order.number }, replies: [confirmation(t, order)], order };
  }

  /** The order-confirmation template's WhatsApp part, inside the window: session text. */
  function confirmation(t: Turn, order: Order): Reply {
    const to = `whatsapp:${t.customer.phone}`;
    try {
      const profile = profileForCustomer(t.customer);
      const render = renderMessage(
        {
          template: 'order-confirmation',
          profile: { ...profile, whatsapp: { lastInboundAt: t.now.toISOString() } },
          order: orderRenderInput(order),
          channels: ['whatsapp'],
          context: { now: t.now.toISOString(), messageId: `order-${order.number}` },
        },
        deps.renderDeps,
      );
      const wa = render.whatsapp;
      if (wa && !wa.suppressed) return { message: wa.message, kind: 'order-confirmation', template: 'order-confirmation' };
    } catch (error) {
      deps.logger.error({ err: error, orderId: order.id }, 'order-confirmation did not render; confirming in plain text');
    }
    return { message: { to, body: t.say('chat.alreadyOrdered', { number: order.number }) }, kind: 'order-confirmation' };
  }

  /** Repeats the question of the current step, after `prefix` ("Sorry, I didn't get that."). */
  function reprompt(t: Turn, state: FlowState, prefix?: string): Promise<Outcome> | Outcome {
    switch (state.step) {
      case 'product':
        return goProduct(t, state, prefix);
      case 'size':
        return goSize(t, state, prefix);
      case 'quantity':
        return goQuantity(t, state, prefix);
      case 'cart':
        return goCart(t, state, prefix);
      case 'confirm':
        return goConfirm(t, state, prefix);
      default:
        return greeting(t, state, prefix);
    }
  }

  function help(t: Turn, state: FlowState): Promise<Outcome> | Outcome {
    return reprompt(t, state, t.say('chat.help', { url: brand.shopUrl }));
  }

  /** A tap on one of the chat's own buttons that belongs to the current step, as an answer. */
  function tapAnswer(tap: Tap): Answer | undefined {
    switch (tap.kind) {
      case 'yes':
      case 'change':
      case 'checkout':
        return { kind: tap.kind };
      case 'size':
        return { kind: 'size', size: tap.size };
      case 'quantity':
        return { kind: 'quantity', quantity: tap.quantity };
      case 'pick':
        return { kind: 'pick', sku: tap.sku };
      default:
        return undefined;
    }
  }

  /**
   * A message payload rendered for someone else (`owner`), or before payloads named their
   * customer (null): nothing is bought or changed, the customer's own question is repeated.
   * Logged without the phone number: the customer id and the payload's digest say enough.
   */
  function refuseForeign(t: Turn, state: FlowState, tap: Tap, owner: string | null): Promise<Outcome> | Outcome {
    deps.logger.warn(
      { customerId: t.customer.id, tap: tap.kind, payloadOwner: owner, messageId: 'messageId' in tap ? tap.messageId : undefined },
      owner === null ? 'WhatsApp tap refused: a message button from before payloads were bound to their customer' : 'WhatsApp tap refused: the button was sent to another customer',
    );
    return reprompt(t, state, t.say(owner === null ? 'chat.staleButton' : 'chat.notYourButton'));
  }

  /**
   * "Check out" of an abandoned-cart message: the confirmation of the cart it showed, unless
   * the customer changed their cart after it (message-cart.ts decides, as for the email).
   */
  async function checkoutShownCart(t: Turn, state: FlowState, tap: Extract<Tap, { kind: 'cart' }>): Promise<Outcome> {
    const shown = tap.shown;
    if (shown && 'digest' in shown) {
      // Its lines did not fit in the button: the store cart stands in for them only when it is them.
      const cart = await store.carts.get(t.customer.id);
      if (!storeCartWins(cart, shown.at) && digest(cart.items) !== shown.digest) return greeting(t, state, t.say('chat.cartNotHere', { url: cartUrl }));
    } else if (shown) {
      const items = await messageCart(store, { sub: t.customer.id, cart: shown.lines, cat: shown.at }, { seed: true });
      // None of its lines can be bought (no size, and the product has several): not the older store cart either.
      if (items.length === 0) return greeting(t, state, t.say('chat.cartEmpty'));
    }
    return goConfirm(t, { flowId: newFlowId(), step: 'confirm', mode: 'cart', ...(tap.messageId ? { messageId: tap.messageId } : {}) });
  }

  /** `tap` is the verified tap of `inbound.tapId`; undefined for a tap that failed verification or for typed text. */
  async function decide(t: Turn, state: FlowState, expired: boolean, inbound: InboundMessage, tap: Tap | undefined): Promise<Outcome> {
    const active = state.step !== 'idle' && state.step !== 'done';
    let answer: Answer;
    if (inbound.tapId !== undefined) {
      if (!tap) return reprompt(t, state, t.say('chat.staleButton'));
      const owner = boundTo(tap);
      if (owner !== undefined && owner !== payloadOwner(t.customer.id)) return refuseForeign(t, state, tap, owner);
      switch (tap.kind) {
        case 'buy':
          return goSize(t, { flowId: newFlowId(), step: 'size', mode: 'item', messageId: tap.messageId, sku: tap.sku, ...(tap.size ? { preferredSize: tap.size } : {}), ...discountOf(tap) });
        case 'picks':
          return goProduct(t, { flowId: newFlowId(), step: 'product', mode: 'item', messageId: tap.messageId, offer: tap.skus, ...discountOf(tap) });
        case 'cart':
          return checkoutShownCart(t, state, tap);
        case 'later':
          return { state: idleState(), replies: [text(t.say('chat.later'))] };
        case 'showCart':
          return goCart(t, state);
        case 'help':
          return help(t, state);
        case 'cancel':
          if (tap.flowId !== state.flowId || !active) return reprompt(t, state, t.say('chat.staleButton'));
          return { state: idleState(), replies: [text(t.say('chat.cancelled'))] };
        case 'pick':
          // A row of a campaign's list (recommendations) starts a purchase; a row of the chat's own list continues one.
          if (tap.flowId === undefined) return goSize(t, { flowId: newFlowId(), step: 'size', mode: 'item', sku: tap.sku, ...(tap.messageId ? { messageId: tap.messageId } : {}), ...discountOf(tap) });
          break;
        case 'stop':
          // Handled before the conversation (compliance); unreachable here.
          return greeting(t, state);
      }
      if ('flowId' in tap && (tap.flowId !== state.flowId || expired)) return reprompt(t, state, t.say('chat.staleButton'));
      answer = tapAnswer(tap) ?? { kind: 'text', text: inbound.body };
    } else {
      const keyword: Keyword | undefined = keywordOf(inbound.body);
      if (keyword === 'help') return help(t, state);
      if (keyword === 'cart') return goCart(t, state);
      if ((keyword === 'cancel' || keyword === 'no') && active) return { state: idleState(), replies: [text(t.say('chat.cancelled'))] };
      if (expired) return greeting(t, state);
      answer = keyword === 'yes' || keyword === 'change' || keyword === 'checkout' ? { kind: keyword } : { kind: 'text', text: inbound.body };
    }
    const notUnderstood = t.say('chat.notUnderstood');

    switch (state.step) {
      case 'product': {
        const offer = (await store.products.getMany(state.offer ?? [])).filter((p) => p.sizes.some((s) => s.stock > 0));
        let chosen: Product | undefined;
        if (answer.kind === 'pick') chosen = offer.find((p) => p.sku === answer.sku);
        else if (answer.kind === 'text') {
          const n = numberOf(answer.text);
          chosen = n !== undefined ? offer[n - 1] : matchPartial(answer.text, offer, (p) => p.title);
        }
        return chosen ? goSize(t, { ...state, step: 'size', sku: chosen.sku, size: undefined }) : goProduct(t, state, notUnderstood);
      }
      case 'size': {
        const product = state.sku ? await store.products.get(state.sku) : undefined;
        if (!product) return greeting(t, state, t.say('chat.unavailable'));
        const { sizes } = sizeOptions(t, state, product);
        let size: string | undefined;
        if (answer.kind === 'size') size = answer.size;
        else if (answer.kind === 'text') {
          // A size name first: "38" is a size before it is the 38th option.
          size = matchLabel(answer.text, product.sizes.map((s) => s.size), (s) => s);
          const n = size === undefined ? numberOf(answer.text) : undefined;
          if (n !== undefined) size = sizes[n - 1];
        }
        if (size === undefined) return goSize(t, state, notUnderstood);
        if (!sizes.includes(size)) return goSize(t, state, t.say('chat.outOfStock', { title: product.title, size }));
        return goQuantity(t, { ...state, step: 'quantity', size });
      }
      case 'quantity': {
        const quantity = answer.kind === 'quantity' ? answer.quantity : answer.kind === 'text' ? numberOf(answer.text) : undefined;
        if (quantity === undefined) return goQuantity(t, state, notUnderstood);
        if (quantity < 1 || quantity > MAX_QUANTITY) return goQuantity(t, state, t.say('chat.quantityRange', { max: MAX_QUANTITY }));
        const product = state.sku ? await store.products.get(state.sku) : undefined;
        const stock = product?.sizes.find((s) => s.size === state.size)?.stock ?? 0;
        if (quantity > stock) return goQuantity(t, state, t.say('chat.onlyLeft', { count: stock, size: state.size }));
        return goConfirm(t, { ...state, step: 'confirm', quantity });
      }
      case 'cart': {
        // Typed numbers pick the buttons, as the plain-text fallback numbers them (1. Check out, 2. Cancel).
        const n = answer.kind === 'text' ? numberOf(answer.text) : undefined;
        if (answer.kind === 'checkout' || answer.kind === 'yes' || n === 1) return goConfirm(t, { ...state, step: 'confirm', mode: 'cart' });
        if (n === 2) return { state: idleState(), replies: [text(t.say('chat.cancelled'))] };
        return goCart(t, state, notUnderstood);
      }
      case 'confirm': {
        const n = answer.kind === 'text' ? numberOf(answer.text) : undefined;
        if (answer.kind === 'yes' || n === 1) return placeConfirmed(t, state);
        if (answer.kind === 'change' || n === 2) return { state, replies: [text(t.say('chat.changeAddress', { url: accountUrl }))] };
        if (n === 3) return { state: idleState(), replies: [text(t.say('chat.cancelled'))] };
        return goConfirm(t, state, notUnderstood);
      }
      case 'done':
        if (answer.kind === 'yes' && state.orderNumber) return { state, replies: [text(t.say('chat.alreadyOrdered', { number: state.orderNumber }))] };
        return greeting(t, state);
      default: {
        // The greeting's buttons, typed: 1. Show cart, 2. Help.
        const n = answer.kind === 'text' ? numberOf(answer.text) : undefined;
        if (n === 1 && !expired) return goCart(t, state);
        if (n === 2 && !expired) return help(t, state);
        return greeting(t, state);
      }
    }
  }

  return {
    async handle(inbound) {
      // Outside a transaction the savepoints below would open one of their own, and on SQLite
      // wait forever for the connection the repositories' queries need.
      if (!store.db.isTransaction) throw new Error('handle() runs inside store.transaction(): pass the transaction\'s repositories as deps.store');
      const now = deps.now?.() ?? new Date();
      const lastInboundAt = inbound.receivedAt.toISOString();
      const phone = inbound.from.replace(/^whatsapp:/, '');
      const to = `whatsapp:${phone}`;
      const toMessage = (reply: Reply, locale: string): OutgoingReply => {
        if ('message' in reply) return reply;
        const warnings: string[] = [];
        const { message } = sessionMessage(to, reply.preview, deps.contentSid, warnings);
        for (const w of warnings) deps.logger.debug({ locale }, w);
        return { message, kind: reply.kind ?? 'reply' };
      };

      const customer = await store.customers.findByPhone(phone);
      if (!customer) {
        const locale = localeForPhone(phone);
        return { lastInboundAt, replies: [toMessage(text(sayer(locale)('chat.unknownNumber', { url: brand.shopUrl })), locale)] };
      }
      await store.customers.setLastInboundAt(customer.id, inbound.receivedAt);
      const { locale } = resolveLocale(customer.locale, locales);
      const say = sayer(locale);
      const intlLocale = canonicalLocale(customer.locale) ?? locale;

      // Compliance before the conversation: STOP and START work whatever step the customer is in.
      const tap = inbound.tapId !== undefined ? parseTap(inbound.tapId, keys) : undefined;
      const keyword = inbound.tapId === undefined ? keywordOf(inbound.body) : undefined;
      if (tap?.kind === 'stop' || keyword === 'stop') {
        const source = tap ? 'whatsapp:button' : `whatsapp:${fold(inbound.body).toUpperCase()}`;
        // The shop hears of the opt-out once, in the message's transaction; a second STOP changes nothing it needs.
        if (!(await store.consents.isOptedOut(customer.id, 'whatsapp'))) await recordWhatsappOptedOut(store, { customerId: customer.id, source });
        await store.consents.set(customer.id, 'whatsapp', false, source);
        await store.conversations.delete(customer.id);
        return { customerId: customer.id, lastInboundAt, replies: [toMessage(text(say('chat.stopped')), locale)] };
      }
      if (keyword === 'start') {
        await store.consents.set(customer.id, 'whatsapp', true, `whatsapp:${fold(inbound.body).toUpperCase()}`);
        return { customerId: customer.id, lastInboundAt, replies: [toMessage(text(say('chat.started')), locale)] };
      }

      for (let attempt = 1; attempt <= SAVE_ATTEMPTS; attempt++) {
        try {
          // A lost save rolls back what the attempt wrote (an order decided on the old state),
          // so the next attempt decides on the newer state alone.
          return await atomically(store.db, async () => {
            const stored = await store.conversations.get(customer.id);
            const { state, expired } = loadState(stored, now);
            const version = stored?.version ?? 0;
            // A retry re-reads the customer too: the address may have changed with the conversation.
            const current = attempt === 1 ? customer : ((await store.customers.get(customer.id)) ?? customer);
            const turn: Turn = { customer: current, say, intlLocale, version, now };
            const outcome = await decide(turn, state, expired, inbound, tap);
            const saved = await store.conversations.save(
              {
                customerId: customer.id,
                phone,
                state: toJson(outcome.state),
                step: outcome.state.step,
                locale,
                updatedAt: now.toISOString(),
                expiresAt: new Date(now.getTime() + CONVERSATION_TTL_MS).toISOString(),
              },
              version,
            );
            if (!saved) throw new ConcurrentSave();
            return {
              customerId: customer.id,
              lastInboundAt,
              replies: outcome.replies.map((r) => toMessage(r, locale)),
              ...(outcome.order ? { order: outcome.order } : {}),
            };
          });
        } catch (error) {
          if (!(error instanceof ConcurrentSave)) throw error;
        }
        deps.logger.debug({ customerId: customer.id, attempt }, 'conversation changed concurrently; applying the message again');
      }
      throw new Error(`conversation of customer ${customer.id} kept changing under ${SAVE_ATTEMPTS} attempts; Twilio will retry the webhook`);
    },
  };
}

function limitBody(body: string): string {
  return charLength(body) > WHATSAPP_LIMITS.richBody ? truncate(body, WHATSAPP_LIMITS.richBody) : body;
}

function shown(lines: string[]): string[] {
  return lines.length > MAX_LINES_SHOWN ? [...lines.slice(0, MAX_LINES_SHOWN), '…'] : lines;
}

/**
 * Enough of the address to recognise it, not enough to read it off a shoulder-surfed phone:
 * first name and initial, the start of the street, the city.
 *
 * @example
 * addressSummary({ name: 'Rachel Hughes', line1: '22 Marine Parade', city: 'Brighton', … }) // 'Rachel H., 22 Mar…, Brighton'
 */
export function addressSummary(a: Address): string {
  const names = a.name.trim().split(/\s+/);
  const name = names.length > 1 ? `${names[0]} ${Array.from(names[names.length - 1]!)[0]}.` : names[0]!;
  const street = Array.from(a.line1.trim());
  const line = street.length > 8 ? `${street.slice(0, 6).join('').trimEnd()}…` : a.line1.trim();
  return `${name}, ${line}, ${a.city}`;
}

function discountOf(tap: { offer?: TapOffer }): Pick<FlowState, 'discount'> {
  return tap.offer ? { discount: tap.offer } : {};
}
