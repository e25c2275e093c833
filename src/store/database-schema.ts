import type { Generated, Kysely } from 'kysely';

/**
 * Row types as both dialects return them (see migrations/0001_initial.ts for why each column
 * has the type it has): money in integer minor units, ids and timestamps as text, JSON as
 * text, booleans as 0/1.
 */

export interface ProductsTable {
  sku: string;
  title: string;
  description: string | null;
  category: string | null;
  price_minor: number;
  compare_at_price_minor: number | null;
  currency: string;
  /** JSON object: market currency → price in that currency's minor units. */
  market_prices: string;
  /** JSON object: market currency → compare-at price in minor units (0006). */
  compare_at_prices: string;
  /**
   * JSON object: market currency → `{ priceMinor, since, lowest30dMinor }`, derived from
   * price_history in the transaction that changes the price (price-history.ts). Only markets
   * whose current price has 30 days of history before it took effect are listed.
   */
  reference_prices: string;
  image: string | null;
  url: string;
  /** JSON array of strings. */
  tags: string;
  new_arrival: number;
  created_at: string;
  updated_at: string;
}

export interface ProductSizesTable {
  sku: string;
  size: string;
  /** Keeps sizes in the order the catalog listed them (XS, S, M… is not alphabetical). */
  position: number;
  stock: number;
}

/** One change of one product's price in one market; in effect until that market's next row. */
export interface PriceHistoryTable {
  sku: string;
  currency: string;
  /** Minor units; null: the market was ended (the product no longer offered in that currency). */
  price_minor: number | null;
  valid_from: string;
}

export interface CustomersTable {
  id: string;
  email: string | null;
  phone: string | null;
  locale: string;
  currency: string;
  timezone: string;
  /** JSON object. */
  profile: string;
  /** JSON object or null. */
  address: string | null;
  /** JSON object or null. */
  payment_method: string | null;
  last_inbound_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProfilePreferencesTable {
  customer_id: string;
  key: string;
  /** JSON string or array of strings. */
  value: string;
  updated_at: string;
}

export interface CartsTable {
  customer_id: string;
  updated_at: string;
}

export interface CartItemsTable {
  customer_id: string;
  sku: string;
  size: string;
  quantity: number;
  added_at: string;
}

export interface OrdersTable {
  id: string;
  number: string;
  customer_id: string;
  channel: string;
  campaign_id: string | null;
  message_id: string | null;
  template: string | null;
  status: string;
  currency: string;
  total_minor: number;
  payment_link: string | null;
  /** JSON object. */
  shipping_address: string;
  idempotency_key: string;
  /** BCP 47; null for orders of customers unknown when 0005 added the column. */
  locale: string | null;
  /** Place in the polling feed (migration 0007): commit order, not clock order. */
  feed_position: number | null;
  created_at: string;
  updated_at: string;
}

export interface OrderStatusChangesTable {
  order_id: string;
  /** 1, 2, …: the order of the changes. */
  seq: number;
  from_status: string;
  to_status: string;
  carrier: string | null;
  tracking_url: string | null;
  reason: string | null;
  created_at: string;
}

export interface OrderLinesTable {
  order_id: string;
  line_no: number;
  sku: string;
  size: string;
  quantity: number;
  unit_price_minor: number;
  title: string;
}

export interface WhatsappConversationsTable {
  customer_id: string;
  phone: string;
  /** JSON object. */
  state: string;
  step: string;
  locale: string;
  updated_at: string;
  expires_at: string;
  version: number;
}

export interface WhatsappMessagesTable {
  sid: string;
  customer_id: string | null;
  to_address: string | null;
  kind: string | null;
  template: string | null;
  status: string;
  error_code: string | null;
  status_at: string;
  created_at: string;
  updated_at: string;
}

export interface ProcessedEventsTable {
  key: string;
  kind: string;
  status: string;
  /** JSON or null while pending. */
  result: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface ConsentsTable {
  customer_id: string;
  channel: string;
  granted: number;
  source: string;
  updated_at: string;
}

export interface WhatsappContentsTable {
  key: string;
  sid: string;
  friendly_name: string;
  fingerprint: string;
  approval_status: string | null;
  created_at: string;
  updated_at: string;
}

export interface WhatsappRepliesTable {
  event_key: string;
  seq: number;
  customer_id: string | null;
  message: string;
  meta: string;
  status: string;
  attempts: number;
  claimed_until: string | null;
  last_error: string | null;
  /** Not tried again before this time (a failed send backing off); null when no retry is pending. */
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookEventsTable {
  /** Assigned by the database; orders the events of one `ordering_key`. */
  seq: Generated<number>;
  id: string;
  type: string;
  /** `order:<id>` or `customer:<id>`: events with the same key are delivered in `seq` order. */
  ordering_key: string;
  order_id: string | null;
  customer_id: string | null;
  /** JSON object. */
  data: string;
  created_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  event_seq: number;
  ordering_key: string;
  url: string;
  state: string;
  attempts: number;
  next_attempt_at: string;
  give_up_at: string;
  claimed_until: string | null;
  /** Names the claim of the instance sending it: only that claim may record the outcome. */
  lease_token: string | null;
  last_error: string | null;
  last_status: number | null;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Database {
  products: ProductsTable;
  product_sizes: ProductSizesTable;
  price_history: PriceHistoryTable;
  customers: CustomersTable;
  profile_preferences: ProfilePreferencesTable;
  carts: CartsTable;
  cart_items: CartItemsTable;
  orders: OrdersTable;
  order_lines: OrderLinesTable;
  whatsapp_conversations: WhatsappConversationsTable;
  whatsapp_messages: WhatsappMessagesTable;
  processed_events: ProcessedEventsTable;
  consents: ConsentsTable;
  whatsapp_contents: WhatsappContentsTable;
  whatsapp_replies: WhatsappRepliesTable;
  order_status_changes: OrderStatusChangesTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

/** Either the store's `db` or a transaction opened on it; repositories accept both. */
export type Executor = Kysely<Database>;
