import { describe, expect, it } from 'vitest';
import { createHandlebarsEnv } from '../../src/templates/handlebars-env.ts';

function compile(source: string) {
  const env = createHandlebarsEnv();
  const spec = new Function(`return ${env.precompile(source, { noEscape: true })}`)() as TemplateSpecification;
  return env.template(spec);
}

describe('precompiled templates in the helpers environment', () => {
  it('render the same call after call', () => {
    const render = compile('{{#each items}}{{truncate name 3}}:{{lookup ../prices @index}} {{/each}}{{#if (and flag (gt n 1))}}yes{{else}}no{{/if}}');
    const data = (i: number) => ({ items: [{ name: `abcd${i}` }, { name: 'b' }], prices: [i, 2], flag: i % 2 === 0, n: i });
    expect([0, 1, 2, 3].map((i) => render(data(i)))).toEqual(['ab…:0 b:2 no', 'ab…:1 b:2 no', 'ab…:2 b:2 yes', 'ab…:3 b:2 no']);
  });

  it('deny prototype access, every call', () => {
    const render = compile('[{{constructor.name}}][{{__proto__}}][{{toString}}][{{own}}]');
    for (let i = 0; i < 3; i++) expect(render({ own: 'x' })).toBe('[][][][x]');
  });
});
