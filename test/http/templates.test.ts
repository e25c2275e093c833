import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { templateDetailSchema, templateListSchema } from '../../src/http/api-schemas.ts';
import { type TestApp, useTestApp } from './helpers.ts';

let t: TestApp;
useTestApp({ seed: false }, (app) => (t = app));

describe('GET /v1/templates', () => {
  it('lists every compiled template with channels, variants and category', async () => {
    const res = await request(t.app).get('/v1/templates');
    expect(res.status).toBe(200);
    const { templates } = templateListSchema.parse(res.body);
    expect(templates.map((x) => x.name)).toEqual([...t.templates.templates.keys()].sort());
    const recs = templates.find((x) => x.name === 'recommendations')!;
    expect(recs.channels).toContain('email');
    expect(recs.variants.map((v) => v.id)).toEqual(['A', 'B']);
    expect(recs.category).toBe('marketing');
  });
});

describe('GET /v1/templates/:name', () => {
  it('describes the render request as JSON Schema, with the data the manifest requires', async () => {
    const res = await request(t.app).get('/v1/templates/recommendations');
    expect(res.status).toBe(200);
    const detail = templateDetailSchema.parse(res.body);
    type Node = { $schema?: string; const?: string; enum?: string[]; minItems?: number; required?: string[]; properties?: Record<string, Node> };
    const data = detail.data as Node & { required: string[]; properties: Record<string, Node> };
    expect(data.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(data.required).toEqual(expect.arrayContaining(['template', 'profile', 'recommendations']));
    expect(data.properties.template!.const).toBe('recommendations');
    expect(data.properties.profile!.required).toEqual(['id']);
    expect(data.properties.recommendations!.properties!.items!.minItems).toBe(1);
    expect(data.properties.variant!.enum).toEqual(['A', 'B']);
  });

  it('a template that needs a cart accepts it in the request or in the profile', async () => {
    const res = await request(t.app).get('/v1/templates/abandoned-cart');
    expect(res.status).toBe(200);
    const data = res.body.data as { anyOf: { required: string[]; properties: { profile: { required: string[] } } }[] };
    expect(data.anyOf).toHaveLength(2);
    expect(data.anyOf[0]!.required).toContain('cart');
    expect(data.anyOf[1]!.properties.profile.required).toContain('cart');
  });

  it('404 for an unknown template, listing the known ones', async () => {
    const res = await request(t.app).get('/v1/templates/nope');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('unknown_template');
    expect(res.body.error.message).toContain('price-drop');
  });
});

describe('unknown routes', () => {
  it('404 with the error shape', async () => {
    const res = await request(t.app).get('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'not_found', message: expect.stringContaining('GET /v1/nothing-here') } });
  });
});
