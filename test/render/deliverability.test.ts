import { describe, expect, it } from 'vitest';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/templates/template-fixtures.ts';
import { NOW, renderKit } from '../support/render-kit.ts';

const { templates, fixtures, deps } = await renderKit();
const render = (template: string, profile = 'sophie') =>
  renderMessage({ ...sampleRequest(templates.templates.get(template)!.manifest, fixtures, profile, { now: NOW }), channels: ['email'] }, deps);

const htmlTemplates = [...templates.templates.values()].filter((t) => t.mjmlDocument).map((t) => t.manifest.name);

describe('what a deliverability check scores in the HTML part', () => {
  // Regression: MJML's mj-preview hides the preheader with color:#ffffff, and SpamAssassin's
  // HTML_FONT_LOW_CONTRAST scored 0.7 points on every message for it.
  it.each(htmlTemplates)('%s: the preheader is hidden by display and size, without a colour', (name) => {
    const email = render(name).email!;
    expect(email.preheader.length).toBeGreaterThan(0);
    const hidden = [...email.html.matchAll(/<div style="([^"]*)">([^<]*)<\/div>/g)].filter((m) => m[2]!.includes(email.preheader.slice(0, 20)));
    expect(hidden.map((m) => m[1])).toEqual(['display:none;max-height:0;max-width:0;overflow:hidden;mso-hide:all;opacity:0;font-size:1px;line-height:1px;']);
    expect(email.html).not.toMatch(/color:#ffffff;line-height:1px/);
  });
});
