import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignProgressSchema, campaignSchema } from '../../src/campaigns/campaign-schema.ts';
import { renderRequestSchema } from '../../src/render/render-input.ts';
import { orderViewSchema } from '../../src/shop/order-view.ts';
import { productSchema, WEBHOOK_EVENT_TYPES } from '../../src/store/index.ts';
import { CUSTOMER_EVENT_TYPES } from '../../src/triggers/event-schema.ts';
import { openTestApp, removeDir, type TestApp } from './helpers.ts';

type Doc = {
  openapi: string;
  webhooks: Record<string, { post: { parameters: { name: string }[]; requestBody: { content: Record<string, { schema: { $ref: string } }> } } }>;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
  components: { schemas: Record<string, { type?: string; properties?: Record<string, unknown>; required?: string[]; items?: { $ref: string } }> };
};

let t: TestApp;
let doc: Doc;
beforeAll(async () => {
  t = await openTestApp({ seed: false });
  const res = await request(t.app).get('/v1/openapi.json').expect(200);
  doc = res.body as Doc;
});
afterAll(async () => {
  await t.close();
  removeDir(t.dataDir);
});

const resolve = (ref: string) => doc.components.schemas[ref.replace('#/components/schemas/', '')]!;

describe('GET /v1/openapi.json', () => {
  it('is OpenAPI 3.1 with every route', () => {
    expect(doc.openapi).toBe('3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual(
      [
        'POST /v1/render',
        'POST /v1/render/batch',
        'GET /v1/templates',
        'GET /v1/templates/{name}',
        'PUT /v1/catalog/products',
        'GET /v1/catalog/products/{sku}',
        'PUT /v1/customers',
        'GET /v1/customers/{id}',
        'PUT /v1/customers/{id}/consents',
        'GET /v1/orders',
        'GET /v1/orders/{id}',
        'POST /v1/orders/{id}/status',
        'GET /v1/orders/{id}/confirmation',
        'GET /v1/webhooks/deliveries',
        'POST /v1/webhooks/deliveries/{id}/retry',
        'POST /v1/campaigns',
        'GET /v1/campaigns/{id}',
        'POST /v1/campaigns/{id}/pause',
        'POST /v1/campaigns/{id}/resume',
        'POST /v1/campaigns/{id}/cancel',
        'GET /v1/reports/campaigns/{campaignId}',
        'POST /v1/events',
        'GET /v1/triggers',
        'GET /v1/triggers/{name}',
        'PUT /v1/triggers/{name}',
        'GET /v1/triggers/{name}/runs',
        'GET /v1/openapi.json',
        'GET /healthz',
        'GET /readyz',
      ].sort(),
    );
  });

  it('describes the events with the schema that validates them, one branch per event type', () => {
    const event = resolve(doc.paths['/v1/events']!.post!.requestBody!.content['application/x-ndjson']!.schema.$ref) as { oneOf: { properties: { type: { const: string } } }[] };
    expect(event.oneOf.map((b) => b.properties.type.const)).toEqual(CUSTOMER_EVENT_TYPES);
    expect(doc.paths['/v1/triggers/{name}/runs']!.get!.responses['200']!.content!['application/json']!.schema.$ref).toBe('#/components/schemas/TriggerRuns');
  });

  it('describes the render request with the schema that validates it', () => {
    const body = resolve(doc.paths['/v1/render']!.post!.requestBody!.content['application/json']!.schema.$ref);
    expect(Object.keys(body.properties!).sort()).toEqual(Object.keys(renderRequestSchema.shape).sort());
    expect(body.properties).toHaveProperty('profile', { $ref: '#/components/schemas/Profile' });
    expect(body.required).toEqual(['template', 'profile']);
    expect(resolve('#/components/schemas/Profile').required).toEqual(['id']);
    expect(doc.paths['/v1/render/batch']!.post!.requestBody!.content['application/x-ndjson']!.schema.$ref).toBe('#/components/schemas/RenderRequest');
  });

  it('describes the catalog request with the store schema', () => {
    const batch = resolve(doc.paths['/v1/catalog/products']!.put!.requestBody!.content['application/json']!.schema.$ref);
    expect(batch.type).toBe('array');
    const item = resolve(batch.items!.$ref);
    expect(Object.keys(item.properties!).sort()).toEqual(Object.keys(productSchema.shape).sort());
  });

  it('describes the catalog product response with its price history per market', () => {
    const detail = resolve(doc.paths['/v1/catalog/products/{sku}']!.get!.responses['200']!.content!['application/json']!.schema.$ref!);
    expect(Object.keys(detail.properties!).sort()).toEqual([...Object.keys(productSchema.shape), 'priceHistory'].sort());
    const market = (detail.properties!.priceHistory as { additionalProperties: { required: string[] } }).additionalProperties;
    expect(market.required).toEqual(['price', 'since', 'lowest30d', 'changes']);
  });

  it('describes the order, the status change and every webhook event with the schemas that build them', () => {
    const order = resolve(doc.paths['/v1/orders/{id}']!.get!.responses['200']!.content!['application/json']!.schema.$ref!);
    expect(Object.keys(order.properties!).sort()).toEqual(Object.keys(orderViewSchema.shape).sort());
    const change = resolve(doc.paths['/v1/orders/{id}/status']!.post!.requestBody!.content['application/json']!.schema.$ref);
    expect(Object.keys(change.properties!).sort()).toEqual(['carrier', 'reason', 'status', 'trackingUrl']);
    expect(change.required).toEqual(['status']);
    expect(Object.keys(doc.webhooks).sort()).toEqual([...WEBHOOK_EVENT_TYPES].sort());
    for (const [type, hook] of Object.entries(doc.webhooks)) {
      expect(hook.post.parameters.map((p) => p.name), type).toContain('Inboxcart-Signature');
      const body = resolve(hook.post.requestBody.content['application/json']!.schema.$ref);
      expect(body.required, type).toEqual(['id', 'type', 'createdAt', 'data']);
    }
    expect(resolve(doc.webhooks['order.created']!.post.requestBody.content['application/json']!.schema.$ref).properties!.data).toMatchObject({
      properties: { order: { $ref: '#/components/schemas/Order' } },
    });
  });

  it('describes the campaign request and its progress with the schemas the route uses', () => {
    const body = resolve(doc.paths['/v1/campaigns']!.post!.requestBody!.content['application/json']!.schema.$ref);
    expect(Object.keys(body.properties!).sort()).toEqual(Object.keys(campaignSchema.shape).sort());
    expect(body.required).toEqual(['id', 'template', 'audience', 'channels']);
    const progress = resolve(doc.paths['/v1/campaigns/{id}']!.get!.responses['200']!.content!['application/json']!.schema.$ref!);
    expect(Object.keys(progress.properties!).sort()).toEqual(Object.keys(campaignProgressSchema.shape).sort());
  });

  it('documents the error shape on every error response', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && status !== '503') {
            expect(response.content?.['application/json']?.schema.$ref, `${method} ${path} ${status}`).toBe('#/components/schemas/Error');
          }
        }
      }
    }
    expect(resolve('#/components/schemas/Error').required).toEqual(['error']);
  });
});
