import { describe, expect, it } from 'vitest';
import { buildEml } from '../../src/channels/email/build-eml.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/templates/template-fixtures.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();

describe('.eml builder', () => {
  it('puts text/plain, text/x-amp-html, text/html in that order inside multipart/alternative', async () => {
    const r = renderMessage(sampleRequest(templates.templates.get('recommendations')!.manifest, fixtures, 'ingrid', { now: NOW }), deps);
    const eml = (await buildEml(r.email!, { from: 'Nordlys <news@nordlys.example>', to: 'ingrid@example.com', messageId: `<${r.id}@nordlys.example>` })).toString();
    expect(eml).toMatch(/^Content-Type: multipart\/alternative;/m);
    const types = [...eml.matchAll(/^Content-Type: (text\/[\w-]+)/gm)].map((m) => m[1]);
    expect(types).toEqual(['text/plain', 'text/x-amp-html', 'text/html']);
    expect(eml).toMatch(/^Subject: =\?UTF-8\?Q\?/m);
    expect(eml).toContain(`Message-ID: <${r.id}@nordlys.example>`);
  });

  it('gives transactional mail no List-Unsubscribe', async () => {
    const r = renderMessage(sampleRequest(templates.templates.get('order-confirmation')!.manifest, fixtures, 'ingrid', { now: NOW }), deps);
    expect(r.email!.headers).toBeUndefined();
    const eml = (await buildEml(r.email!, { from: 'Nordlys <orders@nordlys.example>', to: 'ingrid@example.com' })).toString();
    expect(eml).not.toMatch(/^List-Unsubscribe/im);
  });

  it('marks marketing mail with one-click List-Unsubscribe (RFC 8058)', async () => {
    const r = renderMessage(sampleRequest(templates.templates.get('recommendations')!.manifest, fixtures, 'ingrid', { now: NOW }), deps);
    const eml = (await buildEml(r.email!, { from: 'Nordlys <news@nordlys.example>', to: 'ingrid@example.com' })).toString();
    // The recipient's own signed link on the service, not the brand's page.
    expect(eml).toMatch(/^List-Unsubscribe: <https:\/\/mail\.nordlys\.example\/u\/[\w-]+\.[\w-]+\.[\w-]+>$/m);
    expect(eml).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
  });
});
