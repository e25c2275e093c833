import { substituteBrandTokens } from './brand.ts';
import type { SharedSources, SourceFile } from './read-template-sources.ts';
import { lineAt, TemplateError } from './template-error.ts';

const PARTIAL = /\{\{>\s*([\w-]+)\s*\}\}/g;

/**
 * Builds the full MJML document of a template: the layout with `{{> content}}` replaced by the
 * template's email.mjml, MJML partials inlined as text (recursively), and `[[brand.…]]` tokens
 * substituted. Both the compiled path and the naive reference path start from this text, which
 * is what makes their byte-equality meaningful.
 */
export function expandMjml(template: SourceFile, layoutName: string, shared: SharedSources): string {
  const layout = shared.mjmlLayouts.get(layoutName);
  if (!layout) throw new TemplateError(template.path, undefined, `uses layout '${layoutName}', which is not in templates/layouts/.`);
  const partials = new Map(shared.mjmlPartials);
  partials.set('content', template);
  return expandFile(layout, partials, shared, []);
}

function expandFile(file: SourceFile, partials: Map<string, SourceFile>, shared: SharedSources, chain: string[]): string {
  if (chain.includes(file.path)) {
    throw new TemplateError(file.path, undefined, `includes itself through ${[...chain, file.path].join(' → ')}.`);
  }
  const withBrand = substituteBrandTokens(file.text, shared.brand, (token, offset) => {
    throw new TemplateError(file.path, lineAt(file.text, offset), `unknown brand token ${token}.`, 'use a key that exists in templates/brand.json.');
  });
  return withBrand.replace(PARTIAL, (_whole, name: string, offset: number) => {
    const partial = partials.get(name);
    if (!partial) {
      throw new TemplateError(file.path, lineAt(withBrand, offset), `includes unknown partial '${name}'.`,
        `create templates/partials/${name}.mjml or fix the name.`);
    }
    return expandFile(partial, partials, shared, [...chain, file.path]);
  });
}
