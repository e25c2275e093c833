import { describe, expect, it } from 'vitest';
import { buildEml } from '../../src/channels/email/build-eml.ts';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { countBareLf, parseEml } from '../support/parse-eml.ts';
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

  it('every template × fixture profile: CRLF on every line, and the parts read back as rendered (RFC 5322)', async () => {
    const checked: string[] = [];
    for (const [name, compiled] of templates.templates) {
      if (!compiled.manifest.channels.includes('email')) continue;
      for (const profile of fixtures.profiles.keys()) {
        const r = renderMessage({ ...sampleRequest(compiled.manifest, fixtures, profile, { now: NOW }), channels: ['email'] }, deps);
        if (!r.email) continue;
        const eml = (await buildEml(r.email, { from: 'Nordlys <news@nordlys.example>', to: 'customer@example.com' })).toString('latin1');
        const where = `${name}/${profile}`;
        expect(countBareLf(eml), where).toBe(0);
        expect(eml.match(/\r(?!\n)/g), where).toBeNull();
        expect(eml, `${where}: 7-bit only`).not.toMatch(/[^\x00-\x7f]/);
        // 998 is the limit (RFC 5322 2.1.1); the body keeps to the recommended 78. The one-click
        // List-Unsubscribe URL is one unbreakable header line (~230 characters).
        expect(Math.max(...eml.split('\r\n').map((l) => l.length)), `${where}: line length`).toBeLessThanOrEqual(998);
        const body = eml.slice(eml.indexOf('\r\n\r\n') + 4);
        expect(Math.max(...body.split('\r\n').map((l) => l.length)), `${where}: body line length`).toBeLessThanOrEqual(78);
        const parsed = parseEml(eml);
        const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');
        expect(parsed.parts.map((p) => p.headers.get('content-type')?.split(';')[0]), where).toEqual(['text/plain', ...(r.email.amp ? ['text/x-amp-html'] : []), 'text/html']);
        expect(parsed.parts.map((p) => p.body), where).toEqual([r.email.text, ...(r.email.amp ? [r.email.amp] : []), r.email.html].map(crlf));
        checked.push(where);
      }
    }
    expect(checked.length).toBe([...templates.templates.values()].filter((t) => t.manifest.channels.includes('email')).length * fixtures.profiles.size);
  });
});
