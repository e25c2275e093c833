import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import { validateAmpEmail, type AmpVerdict } from '../../channels/email/amp-validator.ts';
import { WhatsAppLimitError } from '../../templates/whatsapp-limits.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';
import { profileSchema, type Profile } from '../../personalize/profile-schema.ts';
import { recommendationsSchema } from '../../personalize/recommendations-schema.ts';
import { TemplateDataError } from '../../render/build-view.ts';
import { createRenderDeps } from '../../render/create-renderer.ts';
import { renderRequestSchema, type RenderRequest } from '../../render/render-input.ts';
import { renderMessage, type RenderDeps, type RenderResult } from '../../render/render-message.ts';
import type { Channel, TemplateManifest } from '../../templates/template-manifest.ts';
import { sampleRequest, type Fixtures } from '../../validate/template-fixtures.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import { budgetProblems, BUDGETS, locateAmpLine, partSizes, type PartSizes } from '../../validate/validate-templates.ts';
import { problemFrom, type PreviewProblem } from './preview-problem.ts';
import type { PreviewSnapshot } from './preview-source.ts';
import { FIXTURES_NOW } from '../../validate/template-fixtures.ts';

/**
 * The fixtures' "today" (fixtures/README.md). On the real clock the personas drift out of
 * their segments (Emre stops being a new subscriber, Ingrid's 200 days grow), so the preview
 * pins this unless the designer picks another moment.
 */
export const PREVIEW_NOW = FIXTURES_NOW;

/** The name a pasted profile goes by in the response and the .eml file name. */
export const PASTED_PROFILE = '(pasted)';

/** POST /preview/api/render and /preview/api/eml. */
export const previewRequestSchema = z
  .object({
    template: z.string().min(1).max(64),
    /** A fixture profile's file name (`ingrid`), or a pasted profile object. */
    profile: z.union([z.string().min(1).max(64), z.record(z.string(), z.unknown())]),
    /** The profile's own locale when left out. */
    locale: z.string().min(2).max(35).optional(),
    /** Assigned by the stable hash of profile.id when left out, as in production. */
    variant: z.string().min(1).max(32).optional(),
    now: z.iso.datetime({ offset: true }).optional(),
    /** Instead of the template's sample picks (a trigger's simulation shows the product of its cause). */
    recommendations: recommendationsSchema.optional(),
  })
  .strict();

export type PreviewRequest = z.infer<typeof previewRequestSchema>;

export interface AmpErrorView {
  line: number;
  col: number;
  severity: 'ERROR' | 'WARNING';
  message: string;
  specUrl?: string | null;
  /** The template file and line that produced the rendered line, when it can be told. */
  source?: { file: string; line: number };
}

export interface PreviewRender {
  version: number;
  template: string;
  profile: string;
  now: string;
  /** Compile, data and render problems; a render may still be there when only one part failed. */
  problems: PreviewProblem[];
  result?: RenderResult;
  amp?: { status: AmpVerdict['status']; errors: AmpErrorView[] };
  sizes?: { parts: PartSizes; budgets: typeof BUDGETS };
}

export interface PreviewRendererOptions {
  config: Pick<Config, 'publicBaseUrl' | 'tokenTtlDays' | 'unsubscribeTtlDays' | 'thresholds'>;
  /** The official validator by default; tests may count calls. */
  validateAmp?: (html: string) => Promise<AmpVerdict>;
}

/**
 * Renders one template for one sample profile through the render core, then adds what a
 * designer needs on top: the official AMP verdict with errors mapped to template lines, part
 * sizes against the budgets, and every problem as data instead of an exception.
 */
export function createPreviewRenderer(o: PreviewRendererOptions) {
  // A throwaway key: preview messages carry working-looking AMP tokens and WhatsApp payloads,
  // and with PREVIEW=on in production a pasted profile must not mint tokens the service accepts.
  const tokenKeys = [{ id: 'preview', secret: randomBytes(32).toString('base64url') }];
  const validateAmp = o.validateAmp ?? validateAmpEmail;
  const base = previewBaseUrl(o.config.publicBaseUrl);

  return async function renderPreview(input: PreviewRequest, snapshot: PreviewSnapshot): Promise<PreviewRender> {
    const now = input.now ?? PREVIEW_NOW;
    const out: PreviewRender = {
      version: snapshot.version,
      template: input.template,
      profile: typeof input.profile === 'string' ? input.profile : PASTED_PROFILE,
      now,
      problems: [...snapshot.problems],
    };
    const { set, fixtures } = snapshot;
    if (!set || !fixtures) return out;

    const compiled = set.templates.get(input.template);
    if (!compiled) {
      const failed = set.failures.get(input.template);
      if (!failed) {
        throw new HttpError(404, 'unknown_template', `No template '${input.template}'. Known templates: ${templateNames(set).join(', ') || '(none)'}.`, [
          { path: 'template', message: 'no such template' },
        ]);
      }
      out.problems.unshift(...failed.map((e) => problemFrom(e, input.template)));
      return out;
    }
    const manifest = compiled.manifest;
    checkVariant(manifest, input.variant);
    const profile = pickProfile(input.profile, fixtures);
    if (base.warning) out.problems.push({ severity: 'warning', problem: base.warning });
    for (const w of compiled.mjmlWarnings) out.problems.push({ severity: 'warning', file: `${manifest.name}/email.mjml`, problem: w });

    const request = buildRequest(manifest, fixtures, profile, { locale: input.locale, variant: input.variant, now, recommendations: input.recommendations }, out.problems);
    if (!request) return out;
    const deps = createRenderDeps({
      config: { ...o.config, publicBaseUrl: base.url, tokenKeys },
      templates: set,
      catalog: (sku) => fixtures.catalog.get(sku),
      now: () => new Date(now),
    });
    const result = renderEachChannel(request, deps, manifest, out.problems);
    if (!result) return out;
    out.result = result;

    if (result.email) {
      const parts = partSizes(result.email);
      out.sizes = { parts, budgets: BUDGETS };
      for (const problem of budgetProblems(parts)) out.problems.push({ severity: 'error', file: `${manifest.name} (sizes)`, problem });
    }
    const amp = result.email?.amp;
    if (amp !== undefined) {
      let verdict: AmpVerdict;
      try {
        verdict = await validateAmp(amp);
      } catch (err) {
        verdict = { status: 'UNKNOWN', errors: [] };
        out.problems.push({ severity: 'warning', problem: `The AMP validator did not run: ${(err as Error).message}` });
      }
      const lines = amp.split('\n');
      out.amp = {
        status: verdict.status,
        errors: verdict.errors.map((e) => ({ ...e, source: splitLocation(locateAmpLine(lines[e.line - 1] ?? '', manifest.name, compiled.ampSource, set.shared)) })),
      };
    }
    return out;
  };
}

export type PreviewRenderer = ReturnType<typeof createPreviewRenderer>;

/**
 * AMP4EMAIL rejects http endpoints, so a local http base URL would fail every verdict for a
 * reason that is not the template's. The preview renders the same host over https and says so.
 */
function previewBaseUrl(configured: string): { url: string; warning?: string } {
  if (configured.startsWith('https://')) return { url: configured };
  const url = configured.replace(/^http:\/\//, 'https://');
  return {
    url,
    warning: `AMP endpoints are shown as ${url}: PUBLIC_BASE_URL is ${configured}, and AMP email only calls https. Set PUBLIC_BASE_URL to the public https address before sending.`,
  };
}

export function templateNames(set: TemplateSet): string[] {
  return [...new Set([...set.templates.keys(), ...[...set.failures.keys()].filter((k) => !k.startsWith('partial:'))])].sort();
}

function checkVariant(manifest: TemplateManifest, variant: string | undefined): void {
  if (variant === undefined || manifest.variants.some((v) => v.id === variant)) return;
  const known = manifest.variants.map((v) => v.id);
  throw HttpError.invalidRequest([
    { path: 'variant', message: known.length ? `template '${manifest.name}' has variants ${known.join(', ')}` : `template '${manifest.name}' has no variants; leave it out` },
  ]);
}

function pickProfile(given: PreviewRequest['profile'], fixtures: Fixtures): { name: string; profile: Profile } {
  if (typeof given === 'string') {
    const profile = fixtures.profiles.get(given);
    if (!profile) {
      throw HttpError.invalidRequest([{ path: 'profile', message: `no fixture profile '${given}' (have: ${[...fixtures.profiles.keys()].join(', ')})` }]);
    }
    return { name: given, profile };
  }
  const parsed = profileSchema.safeParse(given);
  if (!parsed.success) {
    const fields = fieldsFromZod(parsed.error).map((f) => ({ ...f, path: f.path === '(root)' ? 'profile' : `profile.${f.path}` }));
    throw HttpError.invalidRequest(fields, 'The pasted profile');
  }
  return { name: PASTED_PROFILE, profile: parsed.data };
}

/** The template's sample data around the chosen profile, checked like any API request. */
function buildRequest(
  manifest: TemplateManifest,
  fixtures: Fixtures,
  chosen: { name: string; profile: Profile },
  options: { locale?: string; variant?: string; now: string; recommendations?: PreviewRequest['recommendations'] },
  problems: PreviewProblem[],
): RenderRequest | undefined {
  let sample: RenderRequest;
  try {
    sample = sampleRequest(manifest, { ...fixtures, profiles: new Map([[chosen.name, chosen.profile]]) }, chosen.name, options);
    if (options.recommendations) sample = { ...sample, recommendations: options.recommendations };
  } catch (err) {
    problems.unshift({ ...problemFrom(err, `${manifest.name}/template.json`), fix: 'Point "fixtures" in template.json at files that exist under fixtures/.' });
    return undefined;
  }
  // One message id for every part, so the email and WhatsApp halves read as one message.
  const parsed = renderRequestSchema.safeParse({ ...sample, context: { ...sample.context, messageId: `preview-${randomUUID()}` } });
  if (!parsed.success) {
    for (const f of fieldsFromZod(parsed.error)) {
      problems.unshift({ severity: 'error', file: 'fixtures', problem: `${f.path}: ${f.message}`, fix: 'Fix the sample data the template names in template.json "fixtures".' });
    }
    return undefined;
  }
  return parsed.data;
}

/**
 * Each channel rendered on its own, so a WhatsApp body over the limit still shows the email
 * (and the other way round); the failed part becomes a problem.
 */
function renderEachChannel(request: RenderRequest, deps: RenderDeps, manifest: TemplateManifest, problems: PreviewProblem[]): RenderResult | undefined {
  const parts: RenderResult[] = [];
  for (const channel of manifest.channels) {
    try {
      parts.push(renderMessage({ ...request, channels: [channel] }, deps));
    } catch (err) {
      problems.unshift(renderProblem(err, manifest.name, channel));
    }
  }
  const [first] = parts;
  if (!first) return undefined;
  return {
    ...first,
    email: parts.find((p) => p.email)?.email,
    whatsapp: parts.find((p) => p.whatsapp)?.whatsapp,
    warnings: [...new Set(parts.flatMap((p) => p.warnings))],
  };
}

function renderProblem(err: unknown, template: string, channel: Channel): PreviewProblem {
  if (err instanceof WhatsAppLimitError) {
    return { severity: 'error', file: `${template}/whatsapp.json`, problem: err.message, fix: 'Shorten the text, or truncate the data that feeds it.' };
  }
  if (err instanceof TemplateDataError) {
    return {
      severity: 'error',
      file: `${template}/template.json`,
      problem: `The sample data does not satisfy the template (${channel}): ${err.message}.`,
      fix: 'Pick another profile, or point "fixtures" in template.json at data that has what the template needs.',
    };
  }
  // Handlebars runtime errors (a helper given the wrong arguments) carry a position when they know it.
  const position = err as { lineNumber?: number; column?: number };
  return {
    severity: 'error',
    file: channel === 'email' ? `${template}/email.*` : `${template}/whatsapp.json`,
    line: typeof position.lineNumber === 'number' ? position.lineNumber : undefined,
    column: typeof position.column === 'number' ? position.column : undefined,
    problem: `Rendering the ${channel} part failed: ${(err as Error).message ?? String(err)}`,
  };
}

function splitLocation(location: string | undefined): { file: string; line: number } | undefined {
  const m = location === undefined ? null : /^(.*):(\d+)$/.exec(location);
  return m ? { file: m[1]!, line: Number(m[2]) } : undefined;
}
