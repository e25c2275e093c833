import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipPieces } from '../../src/http/compression/gzip-member.ts';
import { CohortCache } from '../../src/render/cohort-cache.ts';
import { encodeRenderResult } from '../../src/render/encode-result.ts';
import { renderMessage, type RenderDeps, type RenderResult } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();
const PIXEL = '<img src="https://track.example/open.gif" width="1" height="1" alt="">';

function render(d: RenderDeps, messageId: string): RenderResult {
  const request = sampleRequest(templates.templates.get('recommendations')!.manifest, fixtures, 'ingrid', { now: NOW });
  return renderMessage({ ...request, channels: ['email'], context: { ...request.context, messageId } }, d);
}

/** What the service sends for a result (encode, then gzip as for a client that accepts it), as text. */
function httpJson(result: RenderResult): string {
  const encoded = encodeRenderResult(result);
  return gunzipSync(Buffer.concat(gzipPieces(encoded.pieces, encoded.shared, encoded.contexts))).toString('utf8');
}

describe('the probe of issue 16: a result cannot be edited behind the encoder\'s back', () => {
  const cached: RenderDeps = { ...deps, cohorts: new CohortCache() };
  render(cached, 'warm-up'); // the next recipient is served from the cohort
  const paths = { 'cohort-cached': () => render(cached, 'msg-probe'), full: () => render({ ...deps, cohorts: undefined }, 'msg-probe') };

  for (const [path, make] of Object.entries(paths)) {
    it(`${path}: adding a tracking pixel to result.email.html throws, and the JSON is unchanged`, () => {
      const result = make();
      const before = httpJson(result);
      expect(() => {
        (result.email as { html: string }).html += PIXEL;
      }).toThrow(TypeError);
      expect(result.email!.html).not.toContain(PIXEL);
      expect(httpJson(result)).toBe(before);
    });

    it(`${path}: a result built with the pixel sends the pixel`, () => {
      const result = make();
      const edited: RenderResult = { ...result, email: { ...result.email!, html: result.email!.html.replace('</body>', `${PIXEL}</body>`) } };
      const json = httpJson(edited);
      expect(json).toBe(JSON.stringify(edited));
      expect((JSON.parse(json) as RenderResult).email!.html).toContain(PIXEL);
    });
  }
});
