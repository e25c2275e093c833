import { describe, expect, it } from 'vitest';
import { renderMessage } from '../../src/render/render-message.ts';
import { sampleRequest } from '../../src/validate/template-fixtures.ts';
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

  // Screen readers and inbox outlines navigate by headings; a 26px span is not one.
  it.each(htmlTemplates)('%s: the headline is one h1, the same as the AMP part', (name) => {
    // Outside the birthday month the birthday template is a plain points update, without a headline.
    const email = render(name, name === 'birthday-reward' ? 'ayse' : 'sophie').email!;
    const h1 = [...email.html.matchAll(/<h1 class="heading" style="margin:0;font-size:26px;font-weight:normal;line-height:1.5;">([^<]+)<\/h1>/g)].map((m) => m[1]);
    expect(h1).toHaveLength(1);
    expect(email.html.match(/<h1\b/g)).toHaveLength(1);
    if (email.amp) expect([...email.amp.matchAll(/<h1>([^<]+)<\/h1>/g)].map((m) => m[1])).toEqual(h1);
  });

  it('section headlines are h2: the win-back and birthday banners, the quiz picks', () => {
    const h2 = (html: string) => [...html.matchAll(/<h2 class="heading" style="margin:0;[^"]*">([^<]+)<\/h2>/g)].map((m) => m[1]);
    expect(h2(render('recommendations', 'ingrid').email!.html)).toEqual(['Vi saknar dig']);
    expect(h2(render('recommendations', 'ayse').email!.html)).toContain('Doğum günü ayınız kutlu olsun!');
    expect(h2(render('skin-quiz').email!.html)).toEqual(['Picked for your skin']);
  });
});
