import { join } from 'node:path';
import { createHandlebarsEnv } from './handlebars-env.ts';
import { substituteBrandTokens } from './brand.ts';
import { CompileCache } from './compile-cache.ts';
import { recordPartial } from './helper-envs.ts';
import { compileTemplate, localizeSource, TemplateCompileError, type CompiledTemplate, type HandlebarsEnvs } from './compile-template.ts';
import { lintHandlebars } from './lint-template.ts';
import { listTemplateNames, readSharedSources, readTemplateSources, type SharedSources } from './read-template-sources.ts';
import { lineAt, TemplateError } from './template-error.ts';

export interface RegistryOptions {
  /** templates/ folder. */
  root: string;
  /** Where compiled templates are cached on disk; undefined keeps them in memory only. */
  cacheDir?: string;
}

export interface TemplateSet {
  shared: SharedSources;
  templates: Map<string, CompiledTemplate>;
  /** Templates that failed to compile, with why; the rest still serve. */
  failures: Map<string, TemplateError[]>;
  hb: ReturnType<typeof createHandlebarsEnv>;
  /** Where it was loaded from: another thread loads the same set with these. */
  source: RegistryOptions;
}

/**
 * Loads and compiles every template under the root. A broken template is reported in
 * `failures` and does not take the others down (the preview shows the error; the service
 * keeps serving the templates that compile).
 */
export async function loadTemplateSet(options: RegistryOptions, cache = new CompileCache(options.cacheDir)): Promise<TemplateSet> {
  const shared = readSharedSources(options.root);
  const hb = createHandlebarsEnv();
  const failures = new Map<string, TemplateError[]>();

  const byLocale = new Map([...shared.locales.keys()].map((locale) => [locale, createHandlebarsEnv()]));

  // Handlebars partials (AMP and text) are shared by all templates: compiled once per load,
  // generically and once per locale with static strings baked in (see localizeSource).
  for (const [name, file] of shared.hbsPartials) {
    const problems = lintHandlebars(file.path, file.text);
    if (problems.length) {
      failures.set(`partial:${name}`, problems);
      continue;
    }
    const source = substituteBrandTokens(file.text, shared.brand, (token, offset) => {
      throw new TemplateError(file.path, lineAt(file.text, offset), `unknown brand token ${token}.`);
    });
    // txt-* partials feed plain-text parts, which are never HTML-escaped.
    const noEscape = name.startsWith('txt-');
    hb.registerPartial(name, hb.compile(source, { preventIndent: true, noEscape }));
    recordPartial(hb, source);
    for (const [locale, env] of byLocale) {
      const localized = localizeSource(source, locale, shared.locales, noEscape ? (v) => v : env.Utils.escapeExpression);
      env.registerPartial(name, env.compile(localized.source, { preventIndent: true, noEscape }));
      recordPartial(env, localized.source);
    }
  }
  const envs: HandlebarsEnvs = { generic: hb, byLocale };

  const templates = new Map<string, CompiledTemplate>();
  for (const name of listTemplateNames(options.root)) {
    try {
      const sources = readTemplateSources(options.root, name);
      templates.set(name, await compileTemplate(sources, shared, envs, cache));
    } catch (err) {
      if (err instanceof TemplateCompileError) failures.set(name, err.errors);
      else if (err instanceof TemplateError) failures.set(name, [err]);
      else failures.set(name, [new TemplateError(join(name), undefined, (err as Error).message)]);
    }
  }
  return { shared, templates, failures, hb, source: { ...options } };
}
