import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { flattenStrings } from './locale-strings.ts';
import { TemplateError } from './template-error.ts';
import {
  templateManifestSchema,
  whatsAppManifestSchema,
  type TemplateManifest,
  type WhatsAppManifest,
} from './template-manifest.ts';
import { brandSchema, type Brand } from './brand.ts';

/** Files shared by every template: partials, layouts, brand and locale strings. */
export interface SharedSources {
  root: string;
  brand: Brand;
  brandSource: string;
  /** partials/*.mjml, inlined into email.mjml before MJML runs. */
  mjmlPartials: Map<string, SourceFile>;
  /** partials/*.hbs (amp-*.hbs, txt-*.hbs) and layouts/*.hbs, registered as Handlebars partials. */
  hbsPartials: Map<string, SourceFile>;
  /** layouts/*.mjml */
  mjmlLayouts: Map<string, SourceFile>;
  locales: Map<string, Map<string, string>>;
}

export interface SourceFile {
  /** Path relative to the templates root, used in error messages. */
  path: string;
  text: string;
}

export interface TemplateSources {
  name: string;
  manifest: TemplateManifest;
  manifestFile: SourceFile;
  mjml?: SourceFile;
  amp?: SourceFile;
  text?: SourceFile;
  whatsapp?: WhatsAppManifest;
  whatsappFile?: SourceFile;
}

function read(root: string, path: string): SourceFile {
  return { path: relative(root, path), text: readFileSync(path, 'utf8') };
}

function parseJson(file: SourceFile): unknown {
  try {
    return JSON.parse(file.text);
  } catch (err) {
    throw new TemplateError(file.path, undefined, `is not valid JSON (${(err as Error).message}).`);
  }
}

function zodProblem(file: SourceFile, error: { issues: { path: PropertyKey[]; message: string }[] }): TemplateError {
  const detail = error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return new TemplateError(file.path, undefined, `does not match its schema: ${detail}.`);
}

export function readSharedSources(root: string): SharedSources {
  const brandFile = read(root, join(root, 'brand.json'));
  const brand = brandSchema.safeParse(parseJson(brandFile));
  if (!brand.success) throw zodProblem(brandFile, brand.error);

  const mjmlPartials = new Map<string, SourceFile>();
  const hbsPartials = new Map<string, SourceFile>();
  const mjmlLayouts = new Map<string, SourceFile>();
  for (const dir of ['partials', 'layouts']) {
    const full = join(root, dir);
    if (!existsSync(full)) continue;
    for (const entry of readdirSync(full).sort()) {
      const file = read(root, join(full, entry));
      if (entry.endsWith('.mjml')) (dir === 'partials' ? mjmlPartials : mjmlLayouts).set(basename(entry, '.mjml'), file);
      else if (entry.endsWith('.hbs')) hbsPartials.set(`${dir === 'layouts' ? 'layout-' : ''}${basename(entry, '.hbs')}`, file);
    }
  }

  const locales = new Map<string, Map<string, string>>();
  const localeDir = join(root, 'locales');
  for (const entry of readdirSync(localeDir).sort()) {
    if (!entry.endsWith('.json')) continue;
    locales.set(basename(entry, '.json'), flattenStrings(parseJson(read(root, join(localeDir, entry)))));
  }
  if (!locales.has('en')) throw new TemplateError('locales/en.json', undefined, 'is missing; English is the fallback locale.');

  return { root, brand: brand.data, brandSource: brandFile.text, mjmlPartials, hbsPartials, mjmlLayouts, locales };
}

/** Template folders: every directory under the root that holds a template.json. */
export function listTemplateNames(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'template.json')))
    .map((d) => d.name)
    .sort();
}

export function readTemplateSources(root: string, name: string): TemplateSources {
  const dir = join(root, name);
  const manifestFile = read(root, join(dir, 'template.json'));
  const parsed = templateManifestSchema.safeParse(parseJson(manifestFile));
  if (!parsed.success) throw zodProblem(manifestFile, parsed.error);
  const manifest = parsed.data;
  if (manifest.name !== name) {
    throw new TemplateError(manifestFile.path, undefined, `declares name '${manifest.name}' but lives in folder '${name}'.`, 'make them equal.');
  }
  const optional = (file: string) => (existsSync(join(dir, file)) ? read(root, join(dir, file)) : undefined);
  const sources: TemplateSources = {
    name,
    manifest,
    manifestFile,
    mjml: optional('email.mjml'),
    amp: optional('email.amp.hbs'),
    text: optional('email.txt.hbs'),
  };
  if (manifest.channels.includes('email') && !sources.mjml) {
    throw new TemplateError(`${name}/email.mjml`, undefined, 'is missing but the template lists the email channel.');
  }
  if (manifest.channels.includes('whatsapp')) {
    const wa = optional('whatsapp.json');
    if (!wa) throw new TemplateError(`${name}/whatsapp.json`, undefined, 'is missing but the template lists the whatsapp channel.');
    const waParsed = whatsAppManifestSchema.safeParse(parseJson(wa));
    if (!waParsed.success) throw zodProblem(wa, waParsed.error);
    sources.whatsapp = waParsed.data;
    sources.whatsappFile = wa;
  }
  return sources;
}
