import { sql, type Selectable } from 'kysely';
import type { Address } from './customers-repository.ts';
import type { Executor, OrderLinesTable, OrderStatusChangesTable, OrdersTable } from './database-schema.ts';
import { fromJsonText, toJsonText } from './json-column.ts';
import { toIsoTimestamp } from './timestamps.ts';

export type OrderChannel = 'email' | 'whatsapp' | 'api';
/**
 * `placed`: a saved payment method is on file for the shop to charge; `awaiting_payment`: the
 * customer pays through the payment link. The rest are set by the shop's order system
 * (POST /v1/orders/:id/status; shop/order-status.ts says which change may follow which).
 */
export type OrderStatus = 'placed' | 'awaiting_payment' | 'paid' | 'fulfilled' | 'cancelled' | 'refunded';
export const ORDER_STATUSES = ['placed', 'awaiting_payment', 'paid', 'fulfilled', 'cancelled', 'refunded'] as const satisfies readonly OrderStatus[];

/** One change of an order's status, as the shop's order system made it. */
export interface OrderStatusChange {
  from: OrderStatus;
  to: OrderStatus;
  /** With `fulfilled`: who carries the parcel and where the customer follows it (https). */
  carrier?: string;
  trackingUrl?: string;
  reason?: string;
  at: string;
}

/** Where an order stands in the polling feed: commit order (see migrations/0007_order_loop.ts). */
export interface FeedPosition {
  position: number;
  id: string;
}

export interface OrderLine {
  sku: string;
  size: string;
  quantity: number;
  /** Price of one unit in the order currency's minor units, as priced from the catalog. */
  unitPriceMinor: number;
  title: string;
}

export interface Order {
  id: string;
  /** Human-readable and unique, what the customer quotes: IC-7K3M9Q2D. */
  number: string;
  customerId: string;
  channel: OrderChannel;
  /** Attribution back to the campaign system. */
  campaignId?: string;
  messageId?: string;
  template?: string;
  status: OrderStatus;
  currency: string;
  /** BCP 47 locale the customer ordered in (the message's): pages about the order use it. */
  locale?: string;
  totalMinor: number;
  paymentLink?: string;
  shippingAddress: Address;
  idempotencyKey: string;
  createdAt: string;
  lines: OrderLine[];
  /** Once fulfilled: the shipment the customer is told about (from the status changes). */
  fulfillment?: { carrier: string; trackingUrl: string; fulfilledAt: string };
}

export interface OrdersRepository {
  /**
   * Inserts the order and its lines. Returns false, writing nothing, when an order with the
   * same idempotency key already exists (on PostgreSQL it first waits for a concurrent
   * transaction holding that key to finish). Meant to run inside the caller's transaction.
   */
  create(executor: Executor, order: Order): Promise<boolean>;
  get(id: string, executor?: Executor): Promise<Order | undefined>;
  getByNumber(number: string, executor?: Executor): Promise<Order | undefined>;
  getByIdempotencyKey(key: string, executor?: Executor): Promise<Order | undefined>;
  /** Newest first. */
  listByCustomer(customerId: string): Promise<Order[]>;
  /**
   * Orders after `after` in feed order, at most `limit`: the order a poller sees them in. On
   * PostgreSQL an order shows only once every transaction older than the one that placed it
   * has ended, so one that commits later can never land before a position already handed out.
   */
  feed(after: FeedPosition | undefined, limit: number): Promise<{ order: Order; position: FeedPosition }[]>;
  /**
   * Moves the order from `change.from` to `change.to` and records the change, in the caller's
   * transaction. False, writing nothing, when the order is not in `from` (any more): on
   * PostgreSQL a concurrent change holds the row until it commits and this then finds it moved.
   */
  changeStatus(executor: Executor, orderId: string, change: OrderStatusChange): Promise<boolean>;
  /** The order's status changes, oldest first. */
  statusChanges(orderId: string, executor?: Executor): Promise<OrderStatusChange[]>;
  /** The status changes of several orders, oldest first, by order id (orders without any are absent). */
  statusChangesOf(orderIds: readonly string[]): Promise<Map<string, OrderStatusChange[]>>;
}

export function createOrdersRepository(db: Executor, dialect: 'sqlite' | 'postgres' = 'sqlite'): OrdersRepository {
  async function withLines(executor: Executor, rows: Selectable<OrdersTable>[]): Promise<Order[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const lines = await executor.selectFrom('order_lines').selectAll().where('order_id', 'in', ids).orderBy('order_id').orderBy('line_no').execute();
    const byOrder = new Map<string, Selectable<OrderLinesTable>[]>();
    for (const line of lines) {
      let list = byOrder.get(line.order_id);
      if (!list) byOrder.set(line.order_id, (list = []));
      list.push(line);
    }
    const shipped = rows.some((r) => r.status === 'fulfilled' || r.status === 'refunded')
      ? await executor
          .selectFrom('order_status_changes')
          .select(['order_id', 'carrier', 'tracking_url', 'created_at'])
          .where('order_id', 'in', ids)
          .where('to_status', '=', 'fulfilled')
          .execute()
      : [];
    const fulfillments = new Map(shipped.map((f) => [f.order_id, f]));
    return rows.map((row) => toOrder(row, byOrder.get(row.id) ?? [], fulfillments.get(row.id)));
  }

  // SQLite has one writer at a time, so the next number is taken in commit order; on
  // PostgreSQL the transaction id is, once older transactions have ended (see `feed`).
  const feedPosition = dialect === 'postgres' ? sql<number>`pg_current_xact_id()::text::bigint` : sql<number>`(select coalesce(max(feed_position), 0) + 1 from orders)`;

  async function getBy(
    column: 'id' | 'number' | 'idempotency_key',
    value: string,
    executor: Executor,
  ): Promise<Order | undefined> {
    const row = await executor.selectFrom('orders').selectAll().where(column, '=', value).executeTakeFirst();
    if (!row) return undefined;
    return (await withLines(executor, [row]))[0];
  }

  return {
    async create(executor, order) {
      checkOrder(order);
      const createdAt = toIsoTimestamp(order.createdAt);
      const inserted = await executor
        .insertInto('orders')
        .values({
          id: order.id,
          number: order.number,
          customer_id: order.customerId,
          channel: order.channel,
          campaign_id: order.campaignId ?? null,
          message_id: order.messageId ?? null,
          template: order.template ?? null,
          status: order.status,
          currency: order.currency,
          locale: order.locale ?? null,
          total_minor: order.totalMinor,
          payment_link: order.paymentLink ?? null,
          shipping_address: toJsonText(order.shippingAddress),
          idempotency_key: order.idempotencyKey,
          feed_position: feedPosition,
          created_at: createdAt,
          updated_at: createdAt,
        })
        // Only the idempotency key is an expected conflict; a clash on id or number must
        // still raise so the caller can retry with fresh values.
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) return false;
      await executor
        .insertInto('order_lines')
        .values(
          order.lines.map((l, i) => ({
            order_id: order.id,
            line_no: i + 1,
            sku: l.sku,
            size: l.size,
            quantity: l.quantity,
            unit_price_minor: l.unitPriceMinor,
            title: l.title,
          })),
        )
        .execute();
      return true;
    },

    get: (id, executor = db) => getBy('id', id, executor),
    getByNumber: (number, executor = db) => getBy('number', number, executor),
    getByIdempotencyKey: (key, executor = db) => getBy('idempotency_key', key, executor),

    async listByCustomer(customerId) {
      const rows = await db
        .selectFrom('orders')
        .selectAll()
        .where('customer_id', '=', customerId)
        .orderBy('created_at', 'desc')
        .orderBy('number', 'desc')
        .execute();
      return withLines(db, rows);
    },

    async feed(after, limit) {
      let query = db.selectFrom('orders').selectAll().where('feed_position', 'is not', null);
      if (after) {
        query = query.where((eb) =>
          eb.or([eb('feed_position', '>', after.position), eb.and([eb('feed_position', '=', after.position), eb('id', '>', after.id)])]),
        );
      }
      // Every transaction below the snapshot's xmin has ended: no order can still appear there.
      if (dialect === 'postgres') query = query.where('feed_position', '<', sql<number>`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`);
      const rows = await query.orderBy('feed_position').orderBy('id').limit(limit).execute();
      const orders = await withLines(db, rows);
      return orders.map((order, i) => ({ order, position: { position: Number(rows[i]!.feed_position), id: order.id } }));
    },

    async changeStatus(executor, orderId, change) {
      if (!STATUSES.includes(change.to)) throw new RangeError(`unknown order status ${change.to}`);
      const at = toIsoTimestamp(change.at);
      const moved = await executor
        .updateTable('orders')
        .set({ status: change.to, updated_at: at })
        .where('id', '=', orderId)
        .where('status', '=', change.from)
        .executeTakeFirst();
      if (moved.numUpdatedRows === 0n) return false;
      // The update above holds the order's row, so the next number is this change's alone.
      await executor
        .insertInto('order_status_changes')
        .values({
          order_id: orderId,
          seq: sql<number>`(select coalesce(max(seq), 0) + 1 from order_status_changes where order_id = ${orderId})`,
          from_status: change.from,
          to_status: change.to,
          carrier: change.carrier ?? null,
          tracking_url: change.trackingUrl ?? null,
          reason: change.reason ?? null,
          created_at: at,
        })
        .execute();
      return true;
    },

    async statusChanges(orderId, executor = db) {
      const rows = await executor.selectFrom('order_status_changes').selectAll().where('order_id', '=', orderId).orderBy('seq').execute();
      return rows.map(toStatusChange);
    },

    async statusChangesOf(orderIds) {
      const out = new Map<string, OrderStatusChange[]>();
      if (orderIds.length === 0) return out;
      const rows = await db.selectFrom('order_status_changes').selectAll().where('order_id', 'in', [...orderIds]).orderBy('order_id').orderBy('seq').execute();
      for (const row of rows) {
        let list = out.get(row.order_id);
        if (!list) out.set(row.order_id, (list = []));
        list.push(toStatusChange(row));
      }
      return out;
    },
  };
}

const CHANNELS: readonly string[] = ['email', 'whatsapp', 'api'] satisfies OrderChannel[];
const STATUSES: readonly string[] = ORDER_STATUSES;

function toStatusChange(row: Selectable<OrderStatusChangesTable>): OrderStatusChange {
  return {
    from: row.from_status as OrderStatus,
    to: row.to_status as OrderStatus,
    ...(row.carrier === null ? {} : { carrier: row.carrier }),
    ...(row.tracking_url === null ? {} : { trackingUrl: row.tracking_url }),
    ...(row.reason === null ? {} : { reason: row.reason }),
    at: row.created_at,
  };
}

function checkOrder(order: Order): void {
  if (!CHANNELS.includes(order.channel)) throw new RangeError(`unknown order channel ${order.channel}`);
  if (!STATUSES.includes(order.status)) throw new RangeError(`unknown order status ${order.status}`);
  if (order.idempotencyKey.length === 0) throw new RangeError('idempotencyKey must not be empty');
  if (order.lines.length === 0) throw new RangeError('an order needs at least one line');
  order.lines.forEach((l, i) => {
    if (!Number.isSafeInteger(l.quantity) || l.quantity <= 0) {
      throw new RangeError(`lines[${i}].quantity must be a positive integer, got ${l.quantity}`);
    }
    if (!Number.isSafeInteger(l.unitPriceMinor) || l.unitPriceMinor < 0) {
      throw new RangeError(`lines[${i}].unitPriceMinor must be a non-negative integer, got ${l.unitPriceMinor}`);
    }
  });
  if (!Number.isSafeInteger(order.totalMinor) || order.totalMinor < 0) {
    throw new RangeError(`totalMinor must be a non-negative integer, got ${order.totalMinor}`);
  }
}

function toOrder(
  row: Selectable<OrdersTable>,
  lines: Selectable<OrderLinesTable>[],
  fulfilled: { carrier: string | null; tracking_url: string | null; created_at: string } | undefined,
): Order {
  return {
    id: row.id,
    number: row.number,
    customerId: row.customer_id,
    channel: row.channel as OrderChannel,
    ...(row.campaign_id === null ? {} : { campaignId: row.campaign_id }),
    ...(row.message_id === null ? {} : { messageId: row.message_id }),
    ...(row.template === null ? {} : { template: row.template }),
    status: row.status as OrderStatus,
    currency: row.currency,
    ...(row.locale === null ? {} : { locale: row.locale }),
    totalMinor: row.total_minor,
    ...(row.payment_link === null ? {} : { paymentLink: row.payment_link }),
    shippingAddress: fromJsonText<Address>(row.shipping_address),
    idempotencyKey: row.idempotency_key,
    createdAt: row.created_at,
    lines: lines.map((l) => ({
      sku: l.sku,
      size: l.size,
      quantity: l.quantity,
      unitPriceMinor: l.unit_price_minor,
      title: l.title,
    })),
    ...(fulfilled?.carrier && fulfilled.tracking_url ? { fulfillment: { carrier: fulfilled.carrier, trackingUrl: fulfilled.tracking_url, fulfilledAt: fulfilled.created_at } } : {}),
  };
}
