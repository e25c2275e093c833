import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { verifyToken } from '../../src/commerce/signed-token.ts';
import { escapeHtml, jsonForScript } from '../../src/http/preview/preview-page.ts';
import type { Preview } from '../../src/http/preview/preview-routes.ts';
import { PREVIEW_NOW, type PreviewRender } from '../../src/http/preview/render-preview.ts';
import { BUDGETS } from '../../src/validate/validate-templates.ts';
import { openTestApp, removeDir, type TestApp } from '../http/helpers.ts';

const API_KEY = 'preview-test-key-0123456789';

let t: TestApp;
beforeAll(async () => {
  t = await openTestApp();
});
afterAll(async () => {
  (t.app.locals.preview as Preview | undefined)?.close();
  await t.close();
  removeDir(t.dataDir);
});

const render = (body: object) => request(t.app).post('/preview/api/render').send(body);

describe('switching the preview on and off', () => {
  it('is off in production: /preview and its API are 404', async () => {
    const prod = await openTestApp({ env: { NODE_ENV: 'production', API_KEYS: API_KEY }, seed: false });
    try {
      expect(prod.config.previewEnabled).toBe(false);
      for (const path of ['/preview', '/preview/api/options', '/preview/events']) {
        const res = await request(prod.app).get(path).expect(404);
        expect(res.body.error.code).toBe('not_found');
      }
      await request(prod.app).post('/preview/api/render').send({ template: 'price-drop', profile: 'ingrid' }).expect(404);
    } finally {
      await prod.close();
      removeDir(prod.dataDir);
    }
  });

  it('PREVIEW=on turns it on in production, PREVIEW=off turns it off in development', async () => {
    const on = await openTestApp({ env: { NODE_ENV: 'production', API_KEYS: API_KEY, PREVIEW: 'on' }, seed: false });
    const off = await openTestApp({ env: { PREVIEW: 'off' }, seed: false });
    try {
      await request(on.app).get('/preview/api/options').expect(200);
      await request(off.app).get('/preview').expect(404);
    } finally {
      for (const app of [on, off]) {
        (app.app.locals.preview as Preview | undefined)?.close();
        await app.close();
        removeDir(app.dataDir);
      }
    }
  });
});

describe('GET /preview', () => {
  it('serves one self-contained page under a nonce-based Content-Security-Policy', async () => {
    const res = await request(t.app).get('/preview').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = res.headers['content-security-policy'] as string;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    // Exactly the data block and the one inline script; nothing loads from elsewhere.
    expect(res.text.match(/<script\b[^>]*>/g)).toEqual(['<script type="application/json" id="options-data">', `<script nonce="${nonce}">`]);
    expect(res.text).not.toMatch(/<(link|script|img|iframe)[^>]+(src|href)="(?!data:)/);
    expect(res.text).toContain('<option value="price-drop"');
    expect(res.text).toContain('<option value="ingrid">ingrid (sv)</option>');
  });

  it('escapes for HTML text and attributes, and keeps script data from closing its element', () => {
    expect(escapeHtml(`"><img src=x onerror='alert(1)'>&`)).toBe('&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;');
    const json = jsonForScript({ name: '</script><script>alert(1)</script><!--', sep: '\u2028' });
    expect(json).not.toMatch(/<\/?script|<!--|\u2028/);
    expect(JSON.parse(json)).toEqual({ name: '</script><script>alert(1)</script><!--', sep: '\u2028' });
  });
});

describe('GET /preview/api/options', () => {
  it('lists templates with channels and variants, fixture profiles, locales and the fixtures’ clock', async () => {
    const res = await request(t.app).get('/preview/api/options').expect(200);
    expect(res.body.templates).toContainEqual(expect.objectContaining({ name: 'price-drop', channels: ['email', 'whatsapp'], variants: [], broken: false }));
    expect(res.body.templates).toContainEqual(expect.objectContaining({ name: 'recommendations', variants: ['A', 'B'] }));
    expect(res.body.profiles).toContainEqual({ name: 'ingrid', locale: 'sv' });
    expect(res.body.profiles).toContainEqual({ name: 'hostile', locale: 'en' });
    expect(res.body.locales).toEqual(expect.arrayContaining(['en', 'sv', 'tr']));
    expect(res.body.now).toBe(PREVIEW_NOW);
    expect(res.body.brand).toBe('Nordlys');
  });
});

describe('POST /preview/api/render', () => {
  it('renders a fixture profile with the official AMP verdict, sizes against the budgets and segments', async () => {
    const res = await render({ template: 'price-drop', profile: 'ingrid', locale: 'sv' }).expect(200);
    const out = res.body as PreviewRender;
    expect(out.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(out.result?.email?.subject).toBe('Prissänkt: Merino Rib Knit Top');
    expect(out.result?.segments).toEqual(expect.arrayContaining(['at_risk', 'mountains']));
    expect(out.amp).toEqual({ status: 'PASS', errors: [] });
    expect(out.sizes?.budgets).toEqual(BUDGETS);
    expect(out.sizes?.parts.amp).toBe(Buffer.byteLength(out.result!.email!.amp!));
    expect(out.sizes?.parts.html).toBe(Buffer.byteLength(out.result!.email!.html));
    expect(out.result?.whatsapp).toMatchObject({ suppressed: false, window: 'closed', kind: 'template' });
    expect(out.now).toBe(PREVIEW_NOW);
  });

  it('renders the variant asked for', async () => {
    const res = await render({ template: 'recommendations', profile: 'sophie', variant: 'B' }).expect(200);
    expect(res.body.result.variant).toBe('B');
  });

  it('signs AMP tokens with its own key, so a preview render never holds a token the service accepts', async () => {
    const res = await render({ template: 'price-drop', profile: 'ingrid' }).expect(200);
    // Handlebars escapes '=' in attributes as &#x3D;.
    const token = /\?token(?:=|&#x3D;)([\w.-]+)/.exec(res.body.result.email.amp as string)?.[1];
    expect(token).toBeTruthy();
    expect(verifyToken(token!, t.config.tokenKeys, new Date(PREVIEW_NOW))).toEqual({ ok: false, reason: 'unknown_key' });
  });

  it('400 names each wrong field of a pasted profile', async () => {
    const res = await render({ template: 'price-drop', profile: { id: '', email: 'not-an-address', phone: '0701234567', consent: { email: 'yes' } } }).expect(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.message).toMatch(/^The pasted profile has 4 invalid field\(s\)/);
    expect(res.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['profile.id', 'profile.email', 'profile.phone', 'profile.consent.email']);
  });

  it('renders a valid pasted profile with the template’s sample data', async () => {
    const profile = { id: 'cust-pasted', firstName: 'Alex', email: 'alex@example.com', locale: 'sv', currency: 'SEK' };
    const res = await render({ template: 'price-drop', profile }).expect(200);
    expect(res.body.profile).toBe('(pasted)');
    expect(res.body.result.email.subject).toBe('Prissänkt: Merino Rib Knit Top');
    expect(res.body.result.whatsapp).toEqual({ suppressed: true, reason: 'no_phone', window: 'closed' });
  });

  it('400 for an unknown fixture profile, variant or malformed body; 404 for an unknown template', async () => {
    const profile = await render({ template: 'price-drop', profile: 'nobody' }).expect(400);
    expect(profile.body.error.fields).toEqual([{ path: 'profile', message: expect.stringContaining("no fixture profile 'nobody' (have: ayse,") }]);
    const variant = await render({ template: 'price-drop', profile: 'ingrid', variant: 'B' }).expect(400);
    expect(variant.body.error.fields).toEqual([{ path: 'variant', message: "template 'price-drop' has no variants; leave it out" }]);
    const body = await render({ profile: 'ingrid', colour: 'red' }).expect(400);
    expect(body.body.error.fields.map((f: { path: string }) => f.path)).toEqual(['template', 'colour']);
    const template = await render({ template: 'winter-sale', profile: 'ingrid' }).expect(404);
    expect(template.body.error.code).toBe('unknown_template');
  });
});

describe('POST /preview/api/eml', () => {
  it('downloads the current render as an attachment with the parts in text, AMP, HTML order', async () => {
    const res = await request(t.app)
      .post('/preview/api/eml')
      .send({ template: 'price-drop', profile: 'ingrid', locale: 'sv' })
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (chunk: string) => (text += chunk));
        r.on('end', () => cb(null, text));
      })
      .expect(200);
    expect(res.headers['content-type']).toBe('message/rfc822');
    expect(res.headers['content-disposition']).toBe('attachment; filename="price-drop-ingrid-sv.eml"');
    const eml = res.body as string;
    const at = ['text/plain', 'text/x-amp-html', 'text/html'].map((type) => eml.indexOf(`Content-Type: ${type}`));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });
});

describe('templates with problems', () => {
  let broken: TestApp;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'inboxcart-preview-broken-'));
    const templatesDir = join(work, 'templates');
    cpSync(join(PROJECT_ROOT, 'templates'), templatesDir, { recursive: true });
    const file = join(templatesDir, 'price-drop', 'email.mjml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('</mj-section>\n', '</mj-section>\n{{#each x}}\n'));
    // AMP4EMAIL allows no <iframe>: the template compiles, the validator fails it.
    const amp = join(templatesDir, 'win-back', 'email.amp.hbs');
    writeFileSync(amp, readFileSync(amp, 'utf8').replace('<div class="pad">\n', '<div class="pad">\n<iframe src="https://example.com/embed"></iframe>\n'));
    broken = await openTestApp({ env: { TEMPLATES_DIR: templatesDir }, dataDir: join(work, 'data'), seed: false });
  });
  afterAll(async () => {
    await broken.close();
    removeDir(work);
  });

  it('lists one that does not compile as broken and renders it as its problems (200), while the others still render', async () => {
    const options = await request(broken.app).get('/preview/api/options').expect(200);
    expect(options.body.templates).toContainEqual(expect.objectContaining({ name: 'price-drop', broken: true }));

    const res = await request(broken.app).post('/preview/api/render').send({ template: 'price-drop', profile: 'ingrid' }).expect(200);
    expect(res.body.result).toBeUndefined();
    expect(res.body.problems[0]).toMatchObject({
      severity: 'error',
      file: 'price-drop/email.mjml',
      line: expect.any(Number),
      problem: expect.stringContaining("block helper '{{#each x}}'"),
      fix: expect.stringContaining('<mj-raw>'),
    });

    await request(broken.app).post('/preview/api/render').send({ template: 'win-back', profile: 'ingrid' }).expect(200);
  });

  it('maps AMP validator errors back to the template file and line', async () => {
    const res = await request(broken.app).post('/preview/api/render').send({ template: 'win-back', profile: 'ingrid' }).expect(200);
    expect(res.body.amp.status).toBe('FAIL');
    const iframe = (res.body as PreviewRender).amp!.errors.find((e) => e.message.includes("'iframe'"));
    expect(iframe).toMatchObject({ severity: 'ERROR', line: expect.any(Number), col: expect.any(Number), source: { file: 'win-back/email.amp.hbs', line: 8 } });
    expect(res.body.result.email.amp.split('\n')[iframe!.line - 1]).toContain('<iframe src="https://example.com/embed">');
  });

  it('refuses the .eml with the reason (422)', async () => {
    const res = await request(broken.app).post('/preview/api/eml').send({ template: 'price-drop', profile: 'ingrid' }).expect(422);
    expect(res.body.error.code).toBe('no_email_part');
    expect(res.body.error.message).toContain('price-drop/email.mjml:');
  });
});
