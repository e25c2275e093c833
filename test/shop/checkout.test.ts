import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { AmpClaims } from '../../src/commerce/amp-claims.ts';
import { changeCart, checkout, type CheckoutOutcome, type Purchase } from '../../src/shop/checkout.ts';
import { checkoutKey, emailCheckout, type EmailCheckoutOutcome } from '../../src/shop/email-checkout.ts';
import { linesDigest } from '../../src/shop/lines-digest.ts';
import { verifyPaymentSignature } from '../../src/commerce/payment-link.ts';
import type { ProductInput } from '../../src/commerce/product-schema.ts';
import { chatCheckoutRequest, chatOrderKey, confirmedPurchase } from '../../src/channels/whatsapp/chat-checkout.ts';
import type { FlowState } from '../../src/channels/whatsapp/conversation-state.ts';
import type { Customer } from '../../src/store/customers-repository.ts';
import { placeOrder, type Order, type Store } from '../../src/store/index.ts';
import { testClock } from '../support/test-clock.ts';
import { BACKENDS, uid, useStore } from '../store/backends.ts';
import { address, orderInput, product } from '../store/fixtures.ts';

const KEYS = [{ id: 'k1', secret: 'checkout-test-secret-0123456789abcdef' }];
const PUBLIC_BASE_URL = 'https://mail.nordlys.example';
const SHOP_URL = 'https://shop.nordlys.example/';
const CHANNELS = ['email', 'whatsapp'] as const;
type Channel = (typeof CHANNELS)[number];

/** What a purchase became, without the email's shop link (the one thing the chat does not get). */
type Outcome = CheckoutOutcome | EmailCheckoutOutcome;

describe.each(BACKENDS)('checkout on %s', (backendName) => {
  const { store } = useStore(backendName);
  const deps = () => ({ store: store(), keys: KEYS, publicBaseUrl: PUBLIC_BASE_URL, shopUrl: SHOP_URL, now: testClock.now });

  async function customer(overrides: Partial<Customer> = {}): Promise<Customer> {
    const c: Customer = {
      id: uid('cust'),
      locale: 'en',
      currency: 'EUR',
      timezone: 'Europe/Stockholm',
      profile: {},
      address,
      paymentMethod: { type: 'card', last4: '4242', token: 'tok_test' },
      ...overrides,
    };
    await store().customers.upsert(c);
    return c;
  }

  async function catalog(...products: ProductInput[]): Promise<string[]> {
    await store().products.upsertMany(products);
    return products.map((p) => p.sku);
  }

  async function stockOf(sku: string, size = 'M'): Promise<number | undefined> {
    return (await store().products.get(sku))?.sizes.find((s) => s.size === size)?.stock;
  }

  function claims(customerId: string, skus: string[], extra: Partial<AmpClaims> = {}): AmpClaims {
    return { sub: customerId, msg: uid('msg'), tpl: 'price-drop', skus, exp: Math.floor(testClock.now().getTime() / 1000) + 3600, ...extra };
  }

  /**
   * The conversation state at the confirm step of `purchase`: the chat's item flow, or its cart
   * flow with the digest of the cart as the confirm step showed it (`seen`, the cart now by default).
   */
  async function confirmState(customerId: string, purchase: Purchase, seen?: { sku: string; size: string; quantity: number }[]): Promise<FlowState> {
    const flowId = uid('flow');
    if (purchase.from === 'item') return { flowId, step: 'confirm', mode: 'item', sku: purchase.sku, size: purchase.size, quantity: purchase.quantity };
    return { flowId, step: 'confirm', mode: 'cart', cartDigest: linesDigest(seen ?? (await store().carts.get(customerId)).items) };
  }

  /** The chat's "yes" as the conversation engine makes it: inside the inbound message's transaction. */
  async function chatYes(customerId: string, state: FlowState): Promise<CheckoutOutcome> {
    const purchase = confirmedPurchase(state);
    if (!purchase) throw new Error('the state confirms nothing');
    return store().transaction((tx) => checkout({ ...deps(), store: tx }, chatCheckoutRequest(customerId, state, purchase, testClock.now())));
  }

  /** The same purchase through either channel: the email's checkout form, or the chat's "yes". */
  async function buy(channel: Channel, c: Customer, purchase: Purchase, skus: string[]): Promise<Outcome> {
    if (channel === 'email') return emailCheckout(deps(), claims(c.id, skus), purchase.from === 'cart' ? { from: 'cart' } : purchase);
    return chatYes(c.id, await confirmState(c.id, purchase));
  }

  async function ordersOf(customerId: string): Promise<Order[]> {
    return store().orders.listByCustomer(customerId);
  }

  function order(outcome: Outcome): Order {
    if (outcome.kind !== 'order') throw new Error(`expected an order, got ${JSON.stringify(outcome)}`);
    return outcome.order;
  }

  describe.each(CHANNELS)('the same situation through %s gets the same outcome', (channel) => {
    it('out of stock: refused out_of_stock naming sku, size and title; nothing ordered', async () => {
      const [sku] = await catalog(product(uid('oos'), { sizes: [{ size: 'M', stock: 1 }] }));
      const c = await customer();
      const outcome = await buy(channel, c, { from: 'item', sku: sku!, size: 'M', quantity: 2 }, [sku!]);
      expect(outcome).toEqual({ kind: 'refused', code: 'out_of_stock', sku, size: 'M', title: `Linen shirt ${sku}` });
      expect(await ordersOf(c.id)).toEqual([]);
      expect(await stockOf(sku!)).toBe(1);
    });

    it('unknown size: refused unknown_size naming sku, size and title', async () => {
      const [sku] = await catalog(product(uid('size')));
      const c = await customer();
      const outcome = await buy(channel, c, { from: 'item', sku: sku!, size: 'XXL', quantity: 1 }, [sku!]);
      expect(outcome).toEqual({ kind: 'refused', code: 'unknown_size', sku, size: 'XXL', title: `Linen shirt ${sku}` });
      expect(await ordersOf(c.id)).toEqual([]);
    });

    it('mixed currency: a cart of a EUR-only and a GBP-only product is refused mixed_currency; the cart stays', async () => {
      const [eur, gbp] = await catalog(product(uid('eur')), product(uid('gbp'), { currency: 'GBP', price: 39 }));
      const c = await customer({ currency: 'EUR' });
      await store().carts.setItem(c.id, eur!, 'M', 1);
      await store().carts.setItem(c.id, gbp!, 'S', 1);
      const outcome = await buy(channel, c, { from: 'cart' }, []);
      expect(outcome).toEqual({ kind: 'refused', code: 'mixed_currency', sku: gbp, title: `Linen shirt ${gbp}` });
      expect((await store().carts.get(c.id)).items).toHaveLength(2);
    });

    it('empty: the cart the customer looked at was emptied before the buy; refused empty', async () => {
      const [sku] = await catalog(product(uid('empty')));
      const c = await customer();
      await store().carts.setItem(c.id, sku!, 'M', 1);
      const state = await confirmState(c.id, { from: 'cart' });
      await store().carts.clear(c.id);
      const outcome = channel === 'email' ? await emailCheckout(deps(), claims(c.id, []), { from: 'cart' }) : await chatYes(c.id, state);
      expect(outcome).toEqual({ kind: 'refused', code: 'empty' });
      expect(await ordersOf(c.id)).toEqual([]);
    });

    it('cart changed: a line added to the cart while the order is placed is refused cart_changed; nothing written', async () => {
      const [sku] = await catalog(product(uid('race')));
      const c = await customer();
      await store().carts.setItem(c.id, sku!, 'M', 1);
      // Another channel adds a line between pricing and the order's taking of the cart.
      const restore = await afterOrderInsert(store(), c.id, `insert into cart_items (customer_id, sku, size, quantity, added_at) values ('${c.id}', '${sku}', 'S', 1, '2026-11-22T10:00:00.000Z')`);
      try {
        const outcome = await buy(channel, c, { from: 'cart' }, []);
        expect(outcome).toEqual({ kind: 'refused', code: 'cart_changed' });
      } finally {
        await restore();
      }
      expect(await ordersOf(c.id)).toEqual([]);
      expect(await stockOf(sku!)).toBe(5);
      expect((await store().carts.get(c.id)).items).toEqual([{ sku, size: 'M', quantity: 1 }]);
    });

    it("key reuse: a key held by another customer's order is refused idempotency_key_reused, that order untouched", async () => {
      const [sku] = await catalog(product(uid('reuse')));
      const c = await customer();
      const item = { from: 'item', sku: sku!, size: 'M', quantity: 1 } as const;
      const message = claims(c.id, [sku!]);
      const state = await confirmState(c.id, item);
      const key = channel === 'email' ? checkoutKey(message, 'buy', [item]) : chatOrderKey(c.id, state)!;
      const other = await customer();
      const theirs = order(toOutcome(await placeOrder(store(), orderInput(sku!, { idempotencyKey: key, customerId: other.id }))));
      const outcome = channel === 'email' ? await emailCheckout(deps(), message, item) : await chatYes(c.id, state);
      expect(outcome).toEqual({ kind: 'refused', code: 'idempotency_key_reused' });
      expect(await ordersOf(c.id)).toEqual([]);
      expect(await store().orders.getByIdempotencyKey(key)).toStrictEqual(theirs);
      expect(await stockOf(sku!)).toBe(4);
    });

    it('a resubmission after the order took the last unit gets that order, not out_of_stock', async () => {
      const [sku] = await catalog(product(uid('last'), { sizes: [{ size: 'M', stock: 1 }] }));
      const c = await customer();
      const item = { from: 'item', sku: sku!, size: 'M', quantity: 1 } as const;
      const message = claims(c.id, [sku!]);
      const state = await confirmState(c.id, item);
      const submit = () => (channel === 'email' ? emailCheckout(deps(), message, item) : chatYes(c.id, state));
      const first = await submit();
      expect(first).toMatchObject({ kind: 'order', created: true });
      expect(await stockOf(sku!)).toBe(0);
      expect(await submit()).toEqual({ kind: 'order', order: order(first), created: false });
      expect(await ordersOf(c.id)).toHaveLength(1);
    });

    it('a saved payment method places the order; without one it awaits payment through a signed link', async () => {
      const [sku] = await catalog(product(uid('pay')));
      const withCard = await customer();
      const placed = order(await buy(channel, withCard, { from: 'item', sku: sku!, size: 'M', quantity: 1 }, [sku!]));
      expect(placed).toMatchObject({ status: 'placed', channel, customerId: withCard.id, totalMinor: 4995, currency: 'EUR', shippingAddress: address });
      expect(placed.paymentLink).toBeUndefined();

      const noCard = await customer({ paymentMethod: undefined });
      const awaiting = order(await buy(channel, noCard, { from: 'item', sku: sku!, size: 'M', quantity: 1 }, [sku!]));
      expect(awaiting.status).toBe('awaiting_payment');
      const link = new URL(awaiting.paymentLink!);
      expect(`${link.origin}${link.pathname}`).toBe(`${PUBLIC_BASE_URL}/pay/${awaiting.id}`);
      expect(verifyPaymentSignature(awaiting.id, link.searchParams.get('sig')!, KEYS)).toBe(true);
      expect(await stockOf(sku!)).toBe(3);
    });

    it("a cart checkout orders the cart's lines at catalog prices in the customer's market and empties the cart", async () => {
      const [a, b] = await catalog(product(uid('ca'), { prices: { SEK: 549 } }), product(uid('cb'), { prices: { SEK: 299 } }));
      const c = await customer({ currency: 'SEK', locale: 'sv' });
      await store().carts.setItem(c.id, a!, 'M', 2);
      await store().carts.setItem(c.id, b!, 'S', 1);
      const placed = order(await buy(channel, c, { from: 'cart' }, []));
      expect(placed).toMatchObject({ currency: 'SEK', totalMinor: 2 * 54900 + 29900, locale: 'sv' });
      expect(placed.lines.map((l) => [l.sku, l.size, l.quantity, l.unitPriceMinor])).toEqual([
        [a, 'M', 2, 54900],
        [b, 'S', 1, 29900],
      ]);
      expect((await store().carts.get(c.id)).items).toEqual([]);
    });
  });

  describe('what differs between the channels is passed explicitly', () => {
    it('the message offer is charged the same in both: 20% off the offered product', async () => {
      const [sku] = await catalog(product(uid('offer')));
      const email = await emailCheckout(deps(), claims((await customer()).id, [sku!], { off: 20 }), { from: 'item', sku: sku!, size: 'M', quantity: 1 });
      const c = await customer();
      const state: FlowState = { flowId: uid('flow'), step: 'confirm', mode: 'item', sku: sku!, size: 'M', quantity: 1, discount: { percentOff: 20 } };
      const chat = await chatYes(c.id, state);
      expect(order(email).totalMinor).toBe(3996);
      expect(order(chat).totalMinor).toBe(3996);
    });

    it('without an address the email continues in the shop with the item kept in the cart; the chat leaves the cart alone', async () => {
      const [sku] = await catalog(product(uid('shop')));
      const e = await customer({ address: undefined });
      const message = claims(e.id, [sku!], { cmp: 'spring' });
      const item = { from: 'item', sku: sku!, size: 'M', quantity: 2 } as const;
      const email = await emailCheckout(deps(), message, item);
      expect(email).toEqual({
        kind: 'continue_in_shop',
        checkoutUrl: 'https://shop.nordlys.example/checkout?utm_source=inboxcart&utm_medium=email&utm_campaign=spring&utm_content=price-drop',
        currency: 'EUR',
        totalMinor: 9990,
      });
      expect((await store().carts.get(e.id)).items).toEqual([{ sku, size: 'M', quantity: 2 }]);
      // A double click does not put it there twice.
      await emailCheckout(deps(), message, item);
      expect((await store().carts.get(e.id)).items).toEqual([{ sku, size: 'M', quantity: 2 }]);

      const w = await customer({ address: undefined });
      expect(await chatYes(w.id, await confirmState(w.id, item))).toEqual({ kind: 'continue_in_shop', currency: 'EUR', totalMinor: 9990 });
      expect((await store().carts.get(w.id)).items).toEqual([]);
      expect(await ordersOf(e.id)).toEqual([]);
      expect(await ordersOf(w.id)).toEqual([]);
      expect(await stockOf(sku!)).toBe(5);
    });

    it("the email queues the order's WhatsApp confirmation with it; the chat, which confirms in its reply, does not", async () => {
      const [sku] = await catalog(product(uid('confirm')));
      const item = { from: 'item', sku: sku!, size: 'M', quantity: 1 } as const;
      const e = await customer({ phone: '+46701230001', profile: { consent: { whatsapp: true } } });
      const email = await emailCheckout(deps(), claims(e.id, [sku!]), item);
      expect(email).toMatchObject({ kind: 'order', created: true, confirmationQueued: true });
      const w = await customer({ phone: '+46701230002', profile: { consent: { whatsapp: true } } });
      const chat = await chatYes(w.id, await confirmState(w.id, item));
      expect(chat).toMatchObject({ kind: 'order', created: true, confirmationQueued: false });
      const queued = (await store().whatsappReplies.queued()).filter((r) => r.customerId === e.id || r.customerId === w.id);
      expect(queued.map((r) => [r.customerId, r.meta])).toEqual([[e.id, { kind: 'order_confirmation', orderId: order(email).id }]]);
    });

    it("the chat's order joins the inbound message's transaction: rolled back with it, no order and no stock taken", async () => {
      const [sku] = await catalog(product(uid('tx')));
      const c = await customer();
      const state = await confirmState(c.id, { from: 'item', sku: sku!, size: 'M', quantity: 1 });
      const purchase = confirmedPurchase(state)!;
      await expect(
        store().transaction(async (tx) => {
          expect(await checkout({ ...deps(), store: tx }, chatCheckoutRequest(c.id, state, purchase, testClock.now()))).toMatchObject({ kind: 'order', created: true });
          throw new Error('the reply could not be queued');
        }),
      ).rejects.toThrow('the reply could not be queued');
      expect(await ordersOf(c.id)).toEqual([]);
      expect(await stockOf(sku!)).toBe(5);
    });

    it('the chat refuses a cart that changed after its confirm step showed the total', async () => {
      const [sku] = await catalog(product(uid('seen')));
      const c = await customer();
      await store().carts.setItem(c.id, sku!, 'M', 1);
      const state = await confirmState(c.id, { from: 'cart' });
      await store().carts.setItem(c.id, sku!, 'M', 2);
      expect(await chatYes(c.id, state)).toEqual({ kind: 'refused', code: 'cart_changed' });
      expect(await ordersOf(c.id)).toEqual([]);
    });

    it('an email token buys only what its message offered or what is in the cart: refused not_in_message otherwise', async () => {
      const [offered, other] = await catalog(product(uid('offered')), product(uid('other')));
      const c = await customer();
      const message = claims(c.id, [offered!]);
      expect(await emailCheckout(deps(), message, { from: 'item', sku: other!, size: 'M', quantity: 1 })).toEqual({ kind: 'refused', code: 'not_in_message', sku: other });
      expect(await ordersOf(c.id)).toEqual([]);
      await store().carts.setItem(c.id, other!, 'S', 1);
      expect(await emailCheckout(deps(), message, { from: 'item', sku: other!, size: 'M', quantity: 1 })).toMatchObject({ kind: 'order', created: true });
    });
  });

  describe('keys are the ones earlier code stored, so its orders are found on resubmission', () => {
    it('email: amp-buy: and amp-cart: with the SHA-256 of customer, message and sorted lines', async () => {
      const [a, b] = await catalog(product(uid('kb')), product(uid('kc')));
      const c = await customer();
      const message = claims(c.id, [a!, b!]);
      const digest = (lines: [string, string, number][]) => createHash('sha256').update(JSON.stringify(['amp-checkout-v1', c.id, message.msg, lines])).digest('hex');
      const buyKey = `amp-buy:${digest([[a!, 'M', 1]])}`;
      const earlier = order(toOutcome(await placeOrder(store(), orderInput(a!, { idempotencyKey: buyKey, customerId: c.id }))));
      expect(await emailCheckout(deps(), message, { from: 'item', sku: a!, size: 'M', quantity: 1 })).toEqual({ kind: 'order', order: earlier, created: false });

      await store().carts.setItem(c.id, b!, 'S', 2);
      await store().carts.setItem(c.id, a!, 'M', 1);
      const cart = order(await emailCheckout(deps(), message, { from: 'cart' }));
      const sorted: [string, string, number][] = a! < b! ? [[a!, 'M', 1], [b!, 'S', 2]] : [[b!, 'S', 2], [a!, 'M', 1]];
      expect(cart.idempotencyKey).toBe(`amp-cart:${digest(sorted)}`);
      // Its cart is empty now: the same form finds the order it made within the replay window.
      expect(await emailCheckout(deps(), message, { from: 'cart' })).toEqual({ kind: 'order', order: cart, created: false });
    });

    it('chat: whatsapp:<customer>:<flow>:<linesDigest of what was confirmed>', async () => {
      const [sku] = await catalog(product(uid('kw')));
      const c = await customer();
      const state = await confirmState(c.id, { from: 'item', sku: sku!, size: 'M', quantity: 1 });
      const key = `whatsapp:${c.id}:${state.flowId}:${linesDigest([{ sku: sku!, size: 'M', quantity: 1 }])}`;
      const earlier = order(toOutcome(await placeOrder(store(), orderInput(sku!, { idempotencyKey: key, customerId: c.id, channel: 'whatsapp' }))));
      expect(await chatYes(c.id, state)).toEqual({ kind: 'order', order: earlier, created: false });
    });
  });

  describe('cart rules', () => {
    const cartOf = async (customerId: string) => (await store().carts.get(customerId)).items;

    it('add adds to the line, within the stock; beyond it refused out_of_stock with what is left, the cart unchanged', async () => {
      const [sku] = await catalog(product(uid('add'), { sizes: [{ size: 'M', stock: 3 }] }));
      const c = await customer();
      const message = claims(c.id, [sku!]);
      expect(await changeCart(store(), message, { action: 'add', sku: sku!, size: 'M', quantity: 2 })).toEqual({ kind: 'changed', items: [{ sku, size: 'M', quantity: 2 }] });
      expect(await changeCart(store(), message, { action: 'add', sku: sku!, size: 'M', quantity: 2 })).toEqual({
        kind: 'refused',
        code: 'out_of_stock',
        sku,
        size: 'M',
        title: `Linen shirt ${sku}`,
        stock: 3,
      });
      expect(await changeCart(store(), message, { action: 'add', sku: sku!, size: 'M', quantity: 1 })).toEqual({ kind: 'changed', items: [{ sku, size: 'M', quantity: 3 }] });
      expect(await cartOf(c.id)).toEqual([{ sku, size: 'M', quantity: 3 }]);
    });

    it('set makes the quantity exact, within the stock; set 0 and remove take the line out, whatever the scope', async () => {
      const [sku] = await catalog(product(uid('set'), { sizes: [{ size: 'M', stock: 3 }] }));
      const c = await customer();
      const message = claims(c.id, [sku!]);
      await changeCart(store(), message, { action: 'add', sku: sku!, size: 'M', quantity: 1 });
      expect(await changeCart(store(), message, { action: 'set', sku: sku!, size: 'M', quantity: 3 })).toEqual({ kind: 'changed', items: [{ sku, size: 'M', quantity: 3 }] });
      expect(await changeCart(store(), message, { action: 'set', sku: sku!, size: 'M', quantity: 4 })).toMatchObject({ kind: 'refused', code: 'out_of_stock', stock: 3 });
      expect(await changeCart(store(), message, { action: 'set', sku: sku!, size: 'M', quantity: 0 })).toEqual({ kind: 'changed', items: [] });
      await changeCart(store(), message, { action: 'add', sku: sku!, size: 'M', quantity: 1 });
      // Another message's token (which never offered it) may still take it out.
      expect(await changeCart(store(), claims(c.id, []), { action: 'remove', sku: sku!, size: 'M' })).toEqual({ kind: 'changed', items: [] });
    });

    it('scope: a product the message offered, showed in its cart, or already in the cart; anything else is refused not_in_message', async () => {
      const [offered, shown, carted, stranger] = await catalog(product(uid('s1')), product(uid('s2')), product(uid('s3')), product(uid('s4')));
      const c = await customer();
      await store().carts.setItem(c.id, carted!, 'M', 1);
      const message = claims(c.id, [offered!], { cart: [[shown!, 'S', 1]] });
      expect(await changeCart(store(), message, { action: 'add', sku: stranger!, size: 'M', quantity: 1 })).toEqual({ kind: 'refused', code: 'not_in_message', sku: stranger });
      for (const sku of [offered!, shown!, carted!]) expect(await changeCart(store(), message, { action: 'add', sku, size: 'S', quantity: 1 })).toMatchObject({ kind: 'changed' });
      expect(await cartOf(c.id)).toEqual([
        { sku: carted, size: 'M', quantity: 1 },
        { sku: offered, size: 'S', quantity: 1 },
        { sku: shown, size: 'S', quantity: 1 },
        { sku: carted, size: 'S', quantity: 1 },
      ]);
    });

    it('the product and size must exist: unknown_product, unknown_size with the title', async () => {
      const [sku] = await catalog(product(uid('exists')));
      const gone = uid('gone');
      const c = await customer();
      const message = claims(c.id, [sku!, gone]);
      expect(await changeCart(store(), message, { action: 'add', sku: gone, size: 'M', quantity: 1 })).toEqual({ kind: 'refused', code: 'unknown_product', sku: gone });
      expect(await changeCart(store(), message, { action: 'set', sku: sku!, size: 'XL', quantity: 1 })).toEqual({ kind: 'refused', code: 'unknown_size', sku, size: 'XL', title: `Linen shirt ${sku}` });
      expect(await cartOf(c.id)).toEqual([]);
    });

    it('the cart a message showed becomes the store cart on the first change', async () => {
      const [shown, offered] = await catalog(product(uid('seed-a')), product(uid('seed-b')));
      const c = await customer();
      const message = claims(c.id, [offered!], { cart: [[shown!, 'M', 2]], cat: Math.floor(testClock.now().getTime() / 1000) });
      expect(await changeCart(store(), message, { action: 'add', sku: offered!, size: 'S', quantity: 1 })).toEqual({
        kind: 'changed',
        items: [
          { sku: shown, size: 'M', quantity: 2 },
          { sku: offered, size: 'S', quantity: 1 },
        ],
      });
    });

    it('add-look puts every piece in once; a second time adds nothing; one sold-out or foreign piece refuses the whole look', async () => {
      const [top, trousers, soldOut, stranger] = await catalog(
        product(uid('look-top')),
        product(uid('look-trousers')),
        product(uid('look-sold'), { sizes: [{ size: 'M', stock: 0 }] }),
        product(uid('look-stranger')),
      );
      const c = await customer();
      const message = claims(c.id, [top!, trousers!, soldOut!]);
      await store().carts.setItem(c.id, top!, 'M', 2);
      const look = { action: 'add-look', pieces: [{ sku: top!, size: 'M' }, { sku: trousers!, size: 'S' }] } as const;
      const expected = [
        { sku: top, size: 'M', quantity: 2 },
        { sku: trousers, size: 'S', quantity: 1 },
      ];
      expect(await changeCart(store(), message, look)).toEqual({ kind: 'changed', items: expected });
      expect(await changeCart(store(), message, look)).toEqual({ kind: 'changed', items: expected });

      const other = await customer();
      const otherMessage = claims(other.id, [top!, trousers!, soldOut!]);
      expect(await changeCart(store(), otherMessage, { action: 'add-look', pieces: [{ sku: top!, size: 'M' }, { sku: soldOut!, size: 'M' }] })).toEqual({
        kind: 'refused',
        code: 'out_of_stock',
        sku: soldOut,
        size: 'M',
        title: `Linen shirt ${soldOut}`,
        stock: 0,
      });
      expect(await changeCart(store(), otherMessage, { action: 'add-look', pieces: [{ sku: top!, size: 'M' }, { sku: stranger!, size: 'M' }] })).toEqual({
        kind: 'refused',
        code: 'not_in_message',
        sku: stranger,
      });
      expect(await cartOf(other.id)).toEqual([]);
    });
  });
});

function toOutcome(result: Awaited<ReturnType<typeof placeOrder>>): Outcome {
  if (!('order' in result)) throw new Error(`expected an order, got ${JSON.stringify(result)}`);
  return { kind: 'order', order: result.order, created: result.created };
}

/**
 * Makes the database run `statement` right after an order of `customerId` is inserted — inside
 * placeOrder, between the checkout's pricing and its taking of the cart, where another channel's
 * write would land. Resolves to the function that removes the trigger.
 */
async function afterOrderInsert(store: Pick<Store, 'db' | 'dialect'>, customerId: string, statement: string): Promise<() => Promise<void>> {
  const name = `after_${uid('order').replace('-', '_')}`;
  if (store.dialect === 'sqlite') {
    await sql.raw(`create trigger ${name} after insert on orders when new.customer_id = '${customerId}' begin ${statement}; end`).execute(store.db);
    return async () => {
      await sql.raw(`drop trigger ${name}`).execute(store.db);
    };
  }
  await sql.raw(`create function ${name}() returns trigger language plpgsql as $$ begin ${statement}; return null; end $$`).execute(store.db);
  await sql.raw(`create trigger ${name} after insert on orders for each row when (new.customer_id = '${customerId}') execute function ${name}()`).execute(store.db);
  return async () => {
    await sql.raw(`drop trigger ${name} on orders`).execute(store.db);
    await sql.raw(`drop function ${name}()`).execute(store.db);
  };
}
