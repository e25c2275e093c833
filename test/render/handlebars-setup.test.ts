import { describe, expect, it } from 'vitest';
import { createHandlebarsEnv, templateWithSetupOnce } from '../../src/render/handlebars-env.ts';

function compile(source: string) {
  const env = createHandlebarsEnv();
  const spec = new Function(`return ${env.precompile(source, { noEscape: true })}`)() as TemplateSpecification;
  return { env, render: templateWithSetupOnce(env, spec), plain: env.template(spec) };
}

describe('templates whose set-up runs once', () => {
  it('render what a fresh Handlebars template renders, call after call', () => {
    const { render, plain } = compile('{{#each items}}{{truncate name 3}}:{{lookup ../prices @index}} {{/each}}{{#if (and flag (gt n 1))}}yes{{else}}no{{/if}}');
    const data = (i: number) => ({ items: [{ name: `abcd${i}` }, { name: 'b' }], prices: [i, 2], flag: i % 2 === 0, n: i });
    for (let i = 0; i < 5; i++) expect(render(data(i))).toBe(plain(data(i)));
  });

  it('still deny prototype access after the first call', () => {
    const { render } = compile('[{{constructor.name}}][{{__proto__}}][{{toString}}][{{own}}]');
    for (let i = 0; i < 3; i++) expect(render({ own: 'x' })).toBe('[][][][x]');
  });

  it('use per-call helpers for that call only', () => {
    const { render } = compile('{{greet}}');
    expect(render({ greet: 'data' })).toBe('data');
    expect(render({}, { helpers: { greet: () => 'helper' } })).toBe('helper');
    expect(render({ greet: 'data again' })).toBe('data again');
  });
});
