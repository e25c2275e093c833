import type { Selectable } from 'kysely';
import type { Address } from './customers-repository.ts';
import type { Executor, OrderLinesTable, OrdersTable } from './database-schema.ts';
import { fromJsonText, toJsonText } from './json-column.ts';
import { toIsoTimestamp } from './timestamps.ts';

export type OrderChannel = 'email' | 'whatsapp' | 'api';
export type OrderStatus = 'placed' | 'awaiting_payment' | 'cancelled';

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
}

export function createOrdersRepository(db: Executor): OrdersRepository {
  async function withLines(executor: Executor, rows: Selectable<OrdersTable>[]): Promise<Order[]> {
    if (rows.length === 0) return [];
    const lines = await executor
      .selectFrom('order_lines')
      .selectAll()
      .where('order_id', 'in', rows.map((r) => r.id))
      .orderBy('order_id')
      .orderBy('line_no')
      .execute();
    const byOrder = new Map<string, Selectable<OrderLinesTable>[]>();
    for (const line of lines) {
      let list = byOrder.get(line.order_id);
      if (!list) byOrder.set(line.order_id, (list = []));
      list.push(line);
    }
    return rows.map((row) => toOrder(row, byOrder.get(row.id) ?? []));
  }

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
  };
}

const CHANNELS: readonly string[] = ['email', 'whatsapp', 'api'] satisfies OrderChannel[];
const STATUSES: readonly string[] = ['placed', 'awaiting_payment', 'cancelled'] satisfies OrderStatus[];

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

function toOrder(row: Selectable<OrdersTable>, lines: Selectable<OrderLinesTable>[]): Order {
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
  };
}
