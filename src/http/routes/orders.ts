import type { Request, Response } from 'express';
import { z } from 'zod';
import { orderRenderInput, profileForCustomer } from '../../channels/whatsapp/outbox.ts';
import { changeOrderStatus, NEXT_STATUSES, statusChangeRequestSchema } from '../../shop/order-status.ts';
import { orderView } from '../../shop/order-view.ts';
import { profileSchema } from '../../personalize/profile-schema.ts';
import type { Order, Store } from '../../store/index.ts';
import type { CatalogCache } from '../../render-service/catalog-cache.ts';
import { decodeCursor, encodeCursor, pageLimitSchema } from '../cursor.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';
import type { RenderFn } from '../../render-service/render-service.ts';
import { sendRenderResult } from './render.ts';

const listQuerySchema = z
  .object({
    after: z.string().max(512).optional(),
    limit: pageLimitSchema,
  })
  .strict();
const feedCursor = z.tuple([z.number().int().min(0), z.string().min(1)]);

/** Order numbers as the customer quotes them (place-order.ts): the routes take them as well as ids. */
const ORDER_NUMBER = /^IC-[0-9A-Z]{8}$/;

export interface OrderRouteDeps {
  store: Store;
  render: RenderFn;
  /** Renders read it: stock a cancellation gives back must be offered again. */
  catalog: CatalogCache;
  /** Sends the WhatsApp update a status change queued (fulfilled). */
  sendOrderUpdate: (order: Order) => void;
  now: () => Date;
}

/**
 * The shop's order system's side of the loop (shared/DESIGN.md, "The loop with the shop"):
 * `GET /v1/orders` (a feed in commit order, for polling), `GET /v1/orders/:id`,
 * `POST /v1/orders/:id/status` and `GET /v1/orders/:id/confirmation` (the order-confirmation
 * email as the order stands, for the shop's ESP to send).
 */
export function orderRoutes(deps: OrderRouteDeps) {
  const { store } = deps;

  async function find(idOrNumber: string): Promise<Order> {
    const order = (await store.orders.get(idOrNumber)) ?? (ORDER_NUMBER.test(idOrNumber) ? await store.orders.getByNumber(idOrNumber) : undefined);
    if (!order) throw new HttpError(404, 'unknown_order', `No order with id or number '${idOrNumber}'. GET /v1/orders lists them.`);
    return order;
  }

  return {
    /**
     * Orders in the order their transactions committed, `limit` at a time. `nextCursor` is where
     * the page ended (the `after` given when it is empty): a poller passes it back and never
     * misses or repeats an order.
     */
    list: async (req: Request, res: Response) => {
      const parsed = listQuerySchema.safeParse(req.query);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The query');
      const { after, limit } = parsed.data;
      const from = after === undefined ? undefined : decodeCursor(after, feedCursor);
      const page = await store.orders.feed(from && { position: from[0], id: from[1] }, limit + 1);
      const shown = page.slice(0, limit);
      const history = await store.orders.statusChangesOf(shown.map((p) => p.order.id));
      const last = shown.at(-1)?.position;
      res.json({
        orders: shown.map((p) => orderView(p.order, history.get(p.order.id) ?? [])),
        nextCursor: last ? encodeCursor([last.position, last.id]) : (after ?? null),
        hasMore: page.length > limit,
      });
    },

    get: async (req: Request<{ id: string }>, res: Response) => {
      const order = await find(req.params.id);
      res.json(orderView(order, await store.orders.statusChanges(order.id)));
    },

    /**
     * Only the changes NEXT_STATUSES allows (409 naming both states otherwise); the same change
     * again answers 200 with the order as it is and tells no one twice.
     */
    setStatus: async (req: Request<{ id: string }>, res: Response) => {
      const parsed = statusChangeRequestSchema.safeParse(req.body);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), 'The status change');
      const { id } = await find(req.params.id);
      const outcome = await changeOrderStatus({ store, now: deps.now }, id, parsed.data);
      switch (outcome.kind) {
        case 'not_found':
          throw new HttpError(404, 'unknown_order', `No order with id '${id}'. GET /v1/orders lists them.`);
        case 'invalid_transition': {
          const next = NEXT_STATUSES[outcome.from];
          throw new HttpError(
            409,
            'invalid_transition',
            `Order ${outcome.order.number} is ${outcome.from}; it cannot become ${outcome.to}. From ${outcome.from} it can become ${next.length ? next.join(', ') : 'nothing: it is final'}.`,
            [{ path: 'status', message: `${outcome.from} → ${outcome.to} is not allowed` }],
          );
        }
        case 'conflicting_repeat': {
          const f = outcome.order.fulfillment!;
          throw new HttpError(
            409,
            'already_fulfilled',
            `Order ${outcome.order.number} is already fulfilled, with carrier ${f.carrier} and tracking URL ${f.trackingUrl}; the customer has been told so. Repeat the request with the same ${outcome.field}.`,
            [{ path: outcome.field, message: `differs from the ${outcome.field} the order was fulfilled with` }],
          );
        }
        case 'unchanged':
          res.json(orderView(outcome.order, outcome.history));
          return;
        case 'changed':
          if (outcome.restocked.length) deps.catalog.put(await store.products.getMany(outcome.restocked.map((r) => r.sku)));
          if (outcome.whatsappQueued) deps.sendOrderUpdate(outcome.order);
          res.json(orderView(outcome.order, outcome.history));
          return;
      }
    },

    /**
     * The order-confirmation email for the order as it stands (paid, shipped with its tracking
     * link, cancelled), in the order's language: the shop's ESP sends it on `order.status_changed`.
     */
    confirmation: async (req: Request<{ id: string }>, res: Response) => {
      const order = await find(req.params.id);
      const customer = await store.customers.get(order.customerId);
      const profile = customer ? profileForCustomer(customer) : profileSchema.parse({ id: order.customerId, locale: order.locale ?? 'en', currency: order.currency });
      const result = await deps.render({
        template: 'order-confirmation',
        profile,
        order: orderRenderInput(order),
        channels: ['email'],
        ...(order.locale ? { locale: order.locale } : {}),
        context: { messageId: `order-${order.number}-${order.status}`, ...(order.campaignId ? { campaignId: order.campaignId } : {}) },
      });
      sendRenderResult(req, res, result);
    },
  };
}
