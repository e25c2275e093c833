import { z } from 'zod';
import { profileSchema } from '../personalize/profile-schema.ts';
import { recommendationsSchema } from '../personalize/recommendations-schema.ts';
import { renderRequestSchema } from '../render/render-input.ts';
import { consentsInputSchema, consentsResultSchema, customerBatchSchema, customerOutputSchema, customerUpsertResultSchema } from '../shop/customer-schema.ts';
import { productBatchSchema, productSchema } from '../store/index.ts';
import { statusChangeRequestSchema } from '../shop/order-status.ts';
import { orderViewSchema } from '../shop/order-view.ts';
import { DELIVERY_STATES, WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../store/webhooks-repository.ts';
import { campaignProgressSchema, campaignSchema } from '../campaigns/campaign-schema.ts';
import { campaignReportSchema } from '../reports/campaign-report.ts';
import { customerEventSchema, eventsAnswerSchema, MAX_EVENTS_PER_REQUEST } from '../triggers/event-schema.ts';
import { triggerListSchema, triggerPatchRequestSchema, triggerViewSchema, TRIGGER_NAMES } from '../triggers/trigger-config.ts';
import { triggerRunsSchema } from '../triggers/trigger-runs.ts';
import {
  batchLineSchema,
  errorBodySchema,
  healthSchema,
  productDetailSchema,
  orderListSchema,
  readinessSchema,
  renderResultSchema,
  templateDetailSchema,
  templateListSchema,
  upsertResultSchema,
  webhookDeliveryListSchema,
  webhookDeliverySchema,
  webhookEventSchema,
} from './api-schemas.ts';

type JsonObject = Record<string, unknown>;

/**
 * Component names of the schemas the document shares. Requests are described as callers may
 * send them (zod `io: 'input'`: fields with defaults optional), responses as the server sends
 * them (`io: 'output'`), which is why the catalog product appears twice (ProductInput, and
 * ProductDetail with its price history).
 */
const REQUEST_SCHEMAS = {
  RenderRequest: renderRequestSchema,
  Profile: profileSchema,
  Recommendations: recommendationsSchema,
  ProductInput: productSchema,
  ProductBatch: productBatchSchema,
  CustomerBatch: customerBatchSchema,
  ConsentsInput: consentsInputSchema,
  StatusChange: statusChangeRequestSchema,
  Campaign: campaignSchema,
  CustomerEvent: customerEventSchema,
  CustomerEvents: z.union([customerEventSchema, z.array(customerEventSchema).min(1).max(MAX_EVENTS_PER_REQUEST)]),
  TriggerPatch: triggerPatchRequestSchema,
};

/** `order.created` → OrderCreatedEvent: the component of an event type's body. */
const eventComponent = (type: WebhookEventType) => `${type.split(/[._]/).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}Event`;

const RESPONSE_SCHEMAS = {
  RenderResult: renderResultSchema,
  BatchLine: batchLineSchema,
  Error: errorBodySchema,
  TemplateList: templateListSchema,
  TemplateDetail: templateDetailSchema,
  UpsertResult: upsertResultSchema,
  ProductDetail: productDetailSchema,
  Customer: customerOutputSchema,
  CustomerUpsertResult: customerUpsertResultSchema,
  ConsentsResult: consentsResultSchema,
  CampaignProgress: campaignProgressSchema,
  CampaignReport: campaignReportSchema,
  EventsAnswer: eventsAnswerSchema,
  Trigger: triggerViewSchema,
  TriggerList: triggerListSchema,
  TriggerRuns: triggerRunsSchema,
  Health: healthSchema,
  Readiness: readinessSchema,
  Order: orderViewSchema,
  OrderList: orderListSchema,
  WebhookDelivery: webhookDeliverySchema,
  WebhookDeliveryList: webhookDeliveryListSchema,
  ...Object.fromEntries(WEBHOOK_EVENT_TYPES.map((type) => [eventComponent(type), webhookEventSchema(type)])),
};

function componentSchemas(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: out } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  // OpenAPI 3.1 declares the dialect once (jsonSchemaDialect); a fragment-only $id is not a valid
  // base URI in 2020-12, so both per-schema keywords go.
  return Object.fromEntries(
    Object.entries(out).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema as JsonObject]),
  );
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const errorResponse = (description: string) => ({ description, content: json('Error') });

const ERRORS = {
  400: errorResponse('Malformed JSON (invalid_json) or a schema violation (invalid_request, every wrong field named in `fields`).'),
  401: errorResponse('Missing or wrong API key (unauthorized). Send Authorization: Bearer <key>.'),
  404: errorResponse('Unknown template, sku or route.'),
  413: errorResponse('Body larger than the configured limit (payload_too_large).'),
  415: errorResponse('Wrong Content-Type (unsupported_media_type).'),
  422: errorResponse('The request is valid but cannot be rendered as asked (no email part for format=eml, WhatsApp limits).'),
};

const triggerParam = { name: 'name', in: 'path', required: true, schema: { type: 'string', enum: [...TRIGGER_NAMES] } };
const idParam = (description: string) => ({ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description });
const pageParams = [
  { name: 'after', in: 'query', required: false, schema: { type: 'string' }, description: 'The nextCursor of the previous page; leave out to start at the beginning.' },
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
];

const EVENT_DESCRIPTIONS: Record<WebhookEventType, string> = {
  'order.created': 'A customer placed an order, in the email (AMP checkout) or on WhatsApp. Sent once per order, before any status change of it.',
  'order.status_changed': 'The order changed status through POST /v1/orders/{id}/status; `change` says from what to what, `order` is the order after it.',
  'customer.email_unsubscribed': "A customer used an email's unsubscribe link (one-click or the page). Told once, not on repeats.",
  'customer.whatsapp_opted_out': 'A customer sent STOP (or tapped "Stop offers") on WhatsApp. Told once, not on repeats.',
  'customer.preferences_updated': 'A customer answered an in-email quiz or survey; `preferences` is everything now stored for them.',
};

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same zod schemas that validate
 * requests, so the document cannot drift from what the server accepts.
 */
export function buildOpenApiDocument(options: { serverUrl: string; version: string }): JsonObject {
  const secured = { security: [{ bearerAuth: [] }] };
  const open = { security: [] };
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'inboxcart',
      version: options.version,
      description:
        'Renders personalized AMP email, HTML, text and WhatsApp messages for campaign systems, and hands the orders they make to the shop (orders feed, status changes, signed webhooks). Errors share one shape: { error: { code, message, fields? } }.',
    },
    servers: [{ url: options.serverUrl }],
    ...secured,
    paths: {
      '/v1/render': {
        post: {
          operationId: 'render',
          summary: 'Render one message for one recipient',
          parameters: [
            {
              name: 'format',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: ['json', 'eml'] },
              description: 'eml: the RFC 5322 message (multipart/alternative: text/plain, text/x-amp-html, text/html) instead of JSON.',
            },
          ],
          requestBody: { required: true, content: json('RenderRequest') },
          responses: {
            200: {
              description: 'The rendered message.',
              content: { ...json('RenderResult'), 'message/rfc822': { schema: { type: 'string' } } },
            },
            400: ERRORS[400],
            401: ERRORS[401],
            404: ERRORS[404],
            413: ERRORS[413],
            415: ERRORS[415],
            422: ERRORS[422],
          },
        },
      },
      '/v1/render/batch': {
        post: {
          operationId: 'renderBatch',
          summary: 'Render many recipients: NDJSON in, NDJSON out, streamed',
          description:
            'One RenderRequest per line. Each output line reports one input line by number, in order: { line, ok: true, result } or { line, ok: false, error }. A bad line never stops the batch; a body over the batch limit ends it with a payload_too_large line.',
          requestBody: { required: true, content: { 'application/x-ndjson': { schema: ref('RenderRequest') } } },
          responses: {
            200: { description: 'One BatchLine per non-blank input line.', content: { 'application/x-ndjson': { schema: ref('BatchLine') } } },
            401: ERRORS[401],
            413: ERRORS[413],
            415: ERRORS[415],
          },
        },
      },
      '/v1/templates': {
        get: {
          operationId: 'listTemplates',
          summary: 'Templates with their channels, variants and category',
          responses: { 200: { description: 'The templates that compiled.', content: json('TemplateList') }, 401: ERRORS[401] },
        },
      },
      '/v1/templates/{name}': {
        get: {
          operationId: 'getTemplate',
          summary: 'One template with the JSON Schema of its render request',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The template.', content: json('TemplateDetail') }, 401: ERRORS[401], 404: ERRORS[404] },
        },
      },
      '/v1/catalog/products': {
        put: {
          operationId: 'upsertProducts',
          summary: 'Insert or replace products, all or nothing',
          requestBody: { required: true, content: json('ProductBatch') },
          responses: {
            200: { description: 'Every product was stored.', content: json('UpsertResult') },
            400: ERRORS[400],
            401: ERRORS[401],
            413: ERRORS[413],
            415: ERRORS[415],
          },
        },
      },
      '/v1/catalog/products/{sku}': {
        get: {
          operationId: 'getProduct',
          summary: 'One catalog product with its price history per market',
          parameters: [{ name: 'sku', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The product, its recorded prices per market and their 30-day lowest.', content: json('ProductDetail') }, 401: ERRORS[401], 404: ERRORS[404] },
        },
      },
      '/v1/customers': {
        put: {
          operationId: 'upsertCustomers',
          summary: 'Register customers who may buy from a message (address, payment token, profile), all or nothing',
          requestBody: { required: true, content: json('CustomerBatch') },
          responses: {
            200: { description: 'Every customer was stored.', content: json('CustomerUpsertResult') },
            400: ERRORS[400],
            401: ERRORS[401],
            413: ERRORS[413],
            415: ERRORS[415],
          },
        },
      },
      '/v1/customers/{id}': {
        get: {
          operationId: 'getCustomer',
          summary: 'One customer (the payment token is write-only: type and last 4 digits only)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The customer, with the consent decisions recorded in inboxcart.', content: json('Customer') }, 401: ERRORS[401], 404: ERRORS[404] },
        },
      },
      '/v1/customers/{id}/consents': {
        put: {
          operationId: 'setConsents',
          summary: 'Record email or WhatsApp consent learned elsewhere (a re-subscribe, say); it overrides the profile as an unsubscribe or STOP does',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: true, content: json('ConsentsInput') },
          responses: { 200: { description: 'The decisions now recorded.', content: json('ConsentsResult') }, 400: ERRORS[400], 401: ERRORS[401], 415: ERRORS[415] },
        },
      },
      '/v1/orders': {
        get: {
          operationId: 'listOrders',
          summary: 'Orders in the order they were placed (committed), for polling',
          description:
            'Keep the nextCursor and pass it as `after` on the next poll: every order appears once, after the ones placed before it, never skipped. (On PostgreSQL an order appears once every transaction older than the one that placed it has ended: a transaction left open holds the feed back until it ends.)',
          parameters: pageParams,
          responses: { 200: { description: 'A page of orders.', content: json('OrderList') }, 400: ERRORS[400], 401: ERRORS[401] },
        },
      },
      '/v1/orders/{id}': {
        get: {
          operationId: 'getOrder',
          summary: 'One order with its status history',
          parameters: [idParam('The order id, or its number (IC-…).')],
          responses: { 200: { description: 'The order.', content: json('Order') }, 401: ERRORS[401], 404: errorResponse('No such order (unknown_order).') },
        },
      },
      '/v1/orders/{id}/status': {
        post: {
          operationId: 'setOrderStatus',
          summary: "The shop's order system reports a status: paid, fulfilled (carrier and https tracking URL), cancelled or refunded",
          description:
            'Allowed: awaiting_payment → paid, cancelled; placed → paid, fulfilled, cancelled; paid → fulfilled, cancelled, refunded; fulfilled → refunded. Cancelling (or refunding an order that has not shipped) puts its stock back. The same request again answers 200 with the order unchanged and sends no second event or message. fulfilled sends the customer a WhatsApp update with the tracking link (with consent), and order.status_changed goes to the webhooks.',
          parameters: [idParam('The order id, or its number (IC-…).')],
          requestBody: { required: true, content: json('StatusChange') },
          responses: {
            200: { description: 'The order after the change (or as it was, for a repeat).', content: json('Order') },
            400: ERRORS[400],
            401: ERRORS[401],
            404: errorResponse('No such order (unknown_order).'),
            409: errorResponse('invalid_transition (the message names the current and the requested status), or already_fulfilled with another carrier or tracking URL.'),
            415: ERRORS[415],
          },
        },
      },
      '/v1/campaigns': {
        post: {
          operationId: 'createCampaign',
          summary: 'Start a campaign: the audience is resolved and stored, then rendered and delivered as chunk jobs (BullMQ with REDIS_URL, in-process otherwise)',
          requestBody: {
            required: true,
            content: {
              ...json('Campaign'),
              'application/x-ndjson': { schema: { type: 'string', description: 'The upload: the first line is a Campaign without audience, every further line one Profile (the recipients).' } },
            },
          },
          responses: {
            201: { description: 'Created; its progress.', content: json('CampaignProgress') },
            200: { description: 'A campaign with this id and the same body exists (a retried request); its progress.', content: json('CampaignProgress') },
            400: errorResponse('A schema violation, or an unknown template, segment, variant, channel or customer id, named in `fields`.'),
            401: ERRORS[401],
            409: errorResponse('The id is taken by a campaign with another body (campaign_exists).'),
            413: ERRORS[413],
            415: ERRORS[415],
          },
        },
      },
      '/v1/orders/{id}/confirmation': {
        get: {
          operationId: 'getOrderConfirmation',
          summary: 'The order-confirmation email as the order stands (shipped: with carrier and tracking link), for your ESP to send',
          parameters: [idParam('The order id, or its number (IC-…).')],
          responses: { 200: { description: 'The rendered email, in the language the order was placed in.', content: json('RenderResult') }, 401: ERRORS[401], 404: errorResponse('No such order (unknown_order).') },
        },
      },
      '/v1/webhooks/deliveries': {
        get: {
          operationId: 'listWebhookDeliveries',
          summary: 'Webhook deliveries, newest event first: state, attempts, last error, next attempt',
          parameters: [
            { name: 'state', in: 'query', required: false, schema: { type: 'string', enum: [...DELIVERY_STATES] } },
            { name: 'eventId', in: 'query', required: false, schema: { type: 'string' } },
            ...pageParams,
          ],
          responses: { 200: { description: 'A page of deliveries.', content: json('WebhookDeliveryList') }, 400: ERRORS[400], 401: ERRORS[401] },
        },
      },
      '/v1/webhooks/deliveries/{id}/retry': {
        post: {
          operationId: 'retryWebhookDelivery',
          summary: 'Send a delivery again (failed or delivered), with a fresh day of retries',
          parameters: [idParam('The delivery id (whd_…).')],
          responses: {
            202: { description: 'Queued: it is sent within moments.', content: json('WebhookDelivery') },
            401: ERRORS[401],
            404: errorResponse('No such delivery (unknown_delivery).'),
            409: errorResponse('The delivery is being sent right now (delivery_in_progress).'),
          },
        },
      },
      '/v1/campaigns/{id}': {
        get: {
          operationId: 'getCampaign',
          summary: 'Progress: queued, deferred, rendered, delivered, suppressed and failed with reasons',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The progress.', content: json('CampaignProgress') }, 401: ERRORS[401], 404: errorResponse('No campaign with this id (unknown_campaign).') },
        },
      },
      '/v1/reports/campaigns/{campaignId}': {
        get: {
          operationId: 'getCampaignReport',
          summary: 'Campaign results per variant: rendered, AMP opens, tracked clicks, cart adds, orders, units, revenue per currency, conversion, and the A/B difference with its 95% confidence interval',
          parameters: [{ name: 'campaignId', in: 'path', required: true, schema: { type: 'string', pattern: '^[\\w.-]{1,100}$' } }],
          responses: {
            200: { description: 'The report.', content: json('CampaignReport') },
            400: errorResponse('The campaign id is malformed (fields: campaignId).'),
            401: ERRORS[401],
            404: errorResponse('No campaign with this id (unknown_campaign).'),
          },
        },
      },
      ...Object.fromEntries(
        (['pause', 'resume', 'cancel'] as const).map((action) => [
          `/v1/campaigns/{id}/${action}`,
          {
            post: {
              operationId: `${action}Campaign`,
              summary: { pause: 'Pause a running campaign (chunks stop within a few recipients)', resume: 'Resume a paused campaign', cancel: 'Cancel a running or paused campaign for good' }[action],
              parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
              responses: {
                200: { description: 'Done; the progress.', content: json('CampaignProgress') },
                401: ERRORS[401],
                404: errorResponse('No campaign with this id (unknown_campaign).'),
                409: errorResponse('The campaign is not in a state that allows it (campaign_state).'),
              },
            },
          },
        ]),
      ),
      '/v1/events': {
        post: {
          operationId: 'recordEvents',
          summary: 'What customers did in the shop: views, wishlists, carts, orders, back-in-stock requests',
          description: `One event, a JSON array or NDJSON (one event a line), at most ${MAX_EVENTS_PER_REQUEST} a request, all stored or none. Idempotent on the event id: the same event again is stored once and answered the same; another event under a used id is 409. The newest 500 events of each customer are kept.`,
          requestBody: { required: true, content: { ...json('CustomerEvents'), 'application/x-ndjson': { schema: ref('CustomerEvent') } } },
          responses: {
            200: { description: 'Stored (or stored before).', content: json('EventsAnswer') },
            400: errorResponse('A bad event: `fields` names it (`3.sku`; `lines.4.sku` for line 4 of NDJSON).'),
            401: ERRORS[401],
            409: errorResponse('An event id was sent before with another body (event_id_reused); nothing was stored.'),
            413: ERRORS[413],
            415: ERRORS[415],
          },
        },
      },
      '/v1/triggers': {
        get: { operationId: 'listTriggers', summary: 'The triggered journeys and their settings', responses: { 200: { description: 'Every trigger.', content: json('TriggerList') }, 401: ERRORS[401] } },
      },
      '/v1/triggers/{name}': {
        get: {
          operationId: 'getTrigger',
          summary: 'One trigger and its settings',
          parameters: [triggerParam],
          responses: { 200: { description: 'The trigger.', content: json('Trigger') }, 401: ERRORS[401], 404: errorResponse('No such trigger (unknown_trigger).') },
        },
        put: {
          operationId: 'updateTrigger',
          summary: 'Change some of its settings (the rest keep theirs), for every instance',
          parameters: [triggerParam],
          requestBody: { required: true, content: json('TriggerPatch') },
          responses: { 200: { description: 'The trigger after the change.', content: json('Trigger') }, 400: ERRORS[400], 401: ERRORS[401], 404: errorResponse('No such trigger (unknown_trigger).') },
        },
      },
      '/v1/triggers/{name}/runs': {
        get: {
          operationId: 'listTriggerRuns',
          summary: 'What fired, why (the cause), and who was notified on which channel (phones masked)',
          parameters: [triggerParam, { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 20 } }],
          responses: { 200: { description: 'The newest runs first.', content: json('TriggerRuns') }, 400: ERRORS[400], 401: ERRORS[401], 404: errorResponse('No such trigger (unknown_trigger).') },
        },
      },
      '/v1/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, 401: ERRORS[401] },
        },
      },
      '/healthz': {
        get: { operationId: 'health', summary: 'The process is up', ...open, responses: { 200: { description: 'Up.', content: json('Health') } } },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary: 'The database answers and every template compiled',
          ...open,
          responses: {
            200: { description: 'Ready for traffic.', content: json('Readiness') },
            503: { description: 'Not ready; `reasons` says why.', content: json('Readiness') },
          },
        },
      },
    },
    // What inboxcart posts to each WEBHOOK_URL (README, "Webhooks": signature check, retries, order).
    webhooks: Object.fromEntries(
      WEBHOOK_EVENT_TYPES.map((type) => [
        type,
        {
          post: {
            operationId: `webhook_${type.replace('.', '_')}`,
            summary: EVENT_DESCRIPTIONS[type],
            security: [],
            parameters: [
              {
                name: 'Inboxcart-Signature',
                in: 'header',
                required: true,
                schema: { type: 'string' },
                description: 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with WEBHOOK_SECRET>. Check it over the raw body, and reject a t more than 5 minutes off.',
              },
              { name: 'Inboxcart-Event-Id', in: 'header', required: true, schema: { type: 'string' } },
              { name: 'Inboxcart-Event-Type', in: 'header', required: true, schema: { type: 'string', enum: [type] } },
            ],
            requestBody: { required: true, content: json(eventComponent(type)) },
            responses: {
              200: { description: 'Any 2xx: delivered. 5xx, 408, 429, a timeout or no connection: retried with backoff for a day. Any other answer: failed at once (retry it with POST /v1/webhooks/deliveries/{id}/retry).' },
            },
          },
        },
      ]),
    ),
    components: {
      schemas: { ...componentSchemas(REQUEST_SCHEMAS, 'input'), ...componentSchemas(RESPONSE_SCHEMAS, 'output') },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key from the API_KEYS setting. When the server runs without API_KEYS (embedded demo) the API is open.',
        },
      },
    },
  };
}
