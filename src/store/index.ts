export { openStore, type OpenStoreOptions, type Repositories, type Store } from './open-store.ts';
export { findPlacedOrder, placeOrder, newOrderNumber, type PlaceOrderInput, type PlaceOrderResult } from './place-order.ts';
export { productSchema, productBatchSchema, type Product, type ProductInput } from '../commerce/product-schema.ts';
export type { Database, Executor } from './database-schema.ts';
export type { CatalogProduct, ProductsRepository } from './products-repository.ts';
export type { ReferencePrices } from './price-history.ts';
export {
  marketPricesMinor,
  priorPriceMinor,
  referencePriceAt,
  REFERENCE_PERIOD_MS,
  type KnownReferencePrice,
  type PricePoint,
  type ReferencePrice,
} from '../commerce/reference-price.ts';
export type { Address, Customer, CustomersRepository, PaymentMethod, PreferenceValue } from './customers-repository.ts';
export type { Cart, CartItem, CartsRepository } from './carts-repository.ts';
export { ORDER_STATUSES, type FeedPosition, type Order, type OrderChannel, type OrderLine, type OrderStatus, type OrderStatusChange, type OrdersRepository } from './orders-repository.ts';
export type { Conversation, ConversationInput, ConversationsRepository } from './conversations-repository.ts';
export {
  MESSAGE_STATUSES,
  type MessageStatus,
  type MessagesRepository,
  type OutboundMessage,
  type StoredMessage,
} from './messages-repository.ts';
export type { EventsRepository, ProcessedEvent } from './events-repository.ts';
export type { Consent, ConsentChannel, ConsentsRepository } from './consents-repository.ts';
export type { WhatsappContent, WhatsappContentsRepository } from './whatsapp-contents-repository.ts';
export type { QueuedReply, WhatsappRepliesRepository } from './whatsapp-replies-repository.ts';
export {
  DELIVERY_STATES,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_RETRY_FOR_MS,
  type ClaimedDelivery,
  type DeliveryPosition,
  type DeliveryState,
  type WebhookDelivery,
  type WebhookEvent,
  type WebhookEventType,
  type WebhooksRepository,
} from './webhooks-repository.ts';
export type { JsonObject, JsonValue } from './json-column.ts';
export type { Clock } from './timestamps.ts';
