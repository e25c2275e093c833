import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { buildEml } from '../../channels/email/build-eml.ts';
import { getAmpValidator } from '../../channels/email/amp-validator.ts';
import type { Config } from '../../config.ts';
import type { CampaignProgress } from '../../campaigns/campaign-schema.ts';
import { fieldsFromZod, HttpError } from '../http-error.ts';
import { jsonBody } from '../json-body.ts';
import type { Logger } from '../logger.ts';
import type { CampaignReport } from '../../reports/campaign-report.ts';
import { EventStream } from './event-stream.ts';
import { resultsPage } from './results-page.ts';
import { previewPage, type PreviewOptions } from './preview-page.ts';
import { PreviewSource, type PreviewSnapshot } from './preview-source.ts';
import { createPreviewRenderer, PASTED_PROFILE, PREVIEW_NOW, previewRequestSchema, templateNames, type PreviewRequest } from './render-preview.ts';
import { z } from 'zod';
import { profileSchema } from '../../personalize/profile-schema.ts';
import { TRIGGER_NAMES, type TriggerSettings } from '../../triggers/trigger-config.ts';
import { simulateTrigger } from '../../triggers/simulate-trigger.ts';

export interface Preview {
  router: Router;
  /**
   * Watches templates/ and fixtures/ even with no page open, so problems are logged as files are
   * saved (`npm run preview`). Without it the watcher runs only while a page is connected.
   */
  watch(): () => void;
  /** Ends open event streams and stops watching files. */
  close(): void;
}

export interface PreviewDeps {
  config: Config;
  logger: Logger;
  /** True once shutdown has begun: open event streams are ended. */
  draining?: () => boolean;
  debounceMs?: number;
  /** The service's campaigns, for the progress bars (absent: the page shows none). */
  campaigns?: { recent(): Promise<CampaignProgress[]> };
  /** The service's campaign reports, for the Results page (absent: it lists none). */
  results?: { recent(): Promise<CampaignReport[]> };
  /** The trigger settings in effect, for the trigger list and its simulation (absent: none listed). */
  triggers?: { current(): Promise<TriggerSettings> };
}

/** POST /preview/api/triggers/simulate. */
const simulateSchema = z
  .object({
    trigger: z.enum(TRIGGER_NAMES),
    /** A fixture profile's file name (`rachel`), or a pasted profile object. */
    profile: previewRequestSchema.shape.profile,
    /** The product whose price dropped or came back (price drop, back in stock). */
    sku: z.string().min(1).max(128).optional(),
    locale: previewRequestSchema.shape.locale,
    now: previewRequestSchema.shape.now,
  })
  .strict();

/**
 * The designers' preview (shared/DESIGN.md, "Designers' preview"): the page, its JSON API and
 * the live-reload event stream, mounted at /preview when `config.previewEnabled`.
 *
 * - `GET  /`             the page (server-rendered, one inline script, no external assets)
 * - `GET  /api/options`  templates, fixture profiles, locales, variants
 * - `POST /api/render`   `{ template, profile, locale?, variant?, now? }` → render, AMP verdict, sizes, problems
 * - `POST /api/eml`      the same body → the .eml download
 * - `GET  /results`      campaign results: a bar chart and the numbers per variant (server-rendered, no script)
 * - `GET  /events`       server-sent `templates` events with the new version after every change
 *
 * @example
 * if (config.previewEnabled) app.use('/preview', createPreview({ config, logger }).router);
 */
export function createPreview(deps: PreviewDeps): Preview {
  const { config, logger } = deps;
  const source = new PreviewSource({
    templatesDir: config.templatesDir,
    fixturesDir: config.fixturesDir,
    cacheDir: config.templateCacheDir,
    logger,
    debounceMs: deps.debounceMs,
  });
  const render = createPreviewRenderer({ config });
  let unsubscribe: (() => void) | undefined;
  const events = new EventStream({
    draining: deps.draining,
    onFirst: () => {
      unsubscribe = source.subscribe((snapshot) => events.send('templates', versionEvent(snapshot)));
    },
    onLast: () => {
      unsubscribe?.();
      unsubscribe = undefined;
    },
  });
  const json = jsonBody(config.jsonBodyLimit);

  const router = express.Router();
  router.get('/', async (req: Request, res: Response) => {
    warmValidator(logger);
    const snapshot = await source.current();
    const nonce = randomBytes(16).toString('base64');
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(nonce));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('html').send(previewPage({ base: req.baseUrl, nonce, options: optionsOf(snapshot) }));
  });

  router.get('/results', async (req: Request, res: Response) => {
    const reports = (await deps.results?.recent()) ?? [];
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'");
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type('html').send(resultsPage({ base: req.baseUrl, reports }));
  });

  router.get('/api/options', async (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json(optionsOf(await source.current()));
  });

  router.get('/api/campaigns', async (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ campaigns: (await deps.campaigns?.recent()) ?? [] });
  });

  router.get('/api/triggers', async (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    const settings = await deps.triggers?.current();
    res.json({ triggers: settings ? TRIGGER_NAMES.map((name) => ({ name, enabled: settings[name].enabled, template: settings[name].template, channels: settings[name].channels })) : [] });
  });

  /** The message a trigger would send a fixture profile: the channel it would choose, and the render. */
  router.post('/api/triggers/simulate', json, async (req: Request, res: Response) => {
    const parsed = simulateSchema.safeParse(req.body);
    if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error));
    const input = parsed.data;
    const settings = await deps.triggers?.current();
    if (!settings) throw new HttpError(404, 'no_triggers', 'This preview runs without the service, so it has no triggers. Open /preview on the service (npm start).');
    const snapshot = await source.current();
    const template = settings[input.trigger].template;
    const fixture = typeof input.profile === 'string' ? snapshot.fixtures?.profiles.get(input.profile) : profileSchema.safeParse(input.profile).data;
    const channels = snapshot.set?.templates.get(template)?.manifest.channels ?? [];
    const now = new Date(input.now ?? PREVIEW_NOW);
    // An unknown fixture or a bad pasted profile is named by the render below.
    const plan = fixture ? simulateTrigger(input.trigger, settings, { profile: fixture, templateChannels: channels, ...(input.sku ? { sku: input.sku } : {}), now }) : undefined;
    const rendered = await render(
      { template, profile: input.profile, ...(input.locale ? { locale: input.locale } : {}), now: now.toISOString(), ...(plan?.recommendations ? { recommendations: plan.recommendations } : {}) },
      snapshot,
    );
    res.setHeader('Cache-Control', 'no-store');
    res.json({ trigger: input.trigger, template, channel: plan?.channel, render: rendered });
  });

  router.post('/api/render', json, async (req: Request, res: Response) => {
    const input = parseInput(req.body);
    res.setHeader('Cache-Control', 'no-store');
    res.json(await render(input, await source.current()));
  });

  router.post('/api/eml', json, async (req: Request, res: Response) => {
    const input = parseInput(req.body);
    const snapshot = await source.current();
    const out = await render(input, snapshot);
    const email = out.result?.email;
    if (!email || !out.result) {
      const errors = out.problems.filter((p) => p.severity === 'error');
      throw new HttpError(
        422,
        'no_email_part',
        `Template '${input.template}' rendered no email part${errors.length ? `: ${errors.map((p) => `${p.file ?? ''}${p.line ? `:${p.line}` : ''} ${p.problem}`).join('; ')}` : ''}. Fix the problems the preview shows, then download again.`,
      );
    }
    const brand = snapshot.set!.shared.brand;
    const domain = new URL(brand.shopUrl).hostname;
    const eml = await buildEml(email, {
      from: `"${brand.name.replace(/["\\]/g, '')}" <noreply@${domain}>`,
      to: recipientOf(input, snapshot) ?? 'preview@example.invalid',
      messageId: `<${out.result.id}@${domain}>`,
    });
    const profile = out.profile === PASTED_PROFILE ? 'pasted' : out.profile;
    const file = `${out.template}-${profile}-${out.result.locale}${out.result.variant ? `-${out.result.variant}` : ''}.eml`.replace(/[^\w.-]/g, '_');
    res.setHeader('Content-Type', 'message/rfc822');
    res.setHeader('Content-Disposition', `attachment; filename="${file}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.end(eml);
  });

  router.get('/events', async (req: Request, res: Response) => {
    const snapshot = await source.current();
    events.open(req, res, { event: 'templates', data: versionEvent(snapshot) });
  });

  return {
    router,
    watch: () => source.subscribe(() => undefined),
    close: () => {
      events.closeAll();
      source.close();
    },
  };
}

function parseInput(body: unknown): PreviewRequest {
  const parsed = previewRequestSchema.safeParse(body);
  if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error));
  return parsed.data;
}

function recipientOf(input: PreviewRequest, snapshot: PreviewSnapshot): string | undefined {
  if (typeof input.profile === 'string') return snapshot.fixtures?.profiles.get(input.profile)?.email;
  return typeof input.profile.email === 'string' ? input.profile.email : undefined;
}

function versionEvent(snapshot: PreviewSnapshot) {
  return { version: snapshot.version };
}

function optionsOf(snapshot: PreviewSnapshot): PreviewOptions {
  const set = snapshot.set;
  return {
    version: snapshot.version,
    brand: set?.shared.brand.name ?? 'inboxcart',
    templates: set
      ? templateNames(set).map((name) => {
          const m = set.templates.get(name)?.manifest;
          return m
            ? { name, description: m.description, channels: m.channels, variants: m.variants.map((v) => v.id), broken: false }
            : { name, description: 'does not compile', channels: [], variants: [], broken: true };
        })
      : [],
    profiles: [...(snapshot.fixtures?.profiles ?? [])].map(([name, p]) => ({ name, locale: p.locale })),
    locales: set ? [...set.shared.locales.keys()] : [],
    now: PREVIEW_NOW,
    problems: snapshot.problems,
  };
}

/**
 * The page renders untrusted data: everything is escaped, and this policy is the second line.
 * Only the page's own script runs (nonce); srcdoc frames inherit the policy, so email HTML
 * runs no script either way, while its inline styles and images still load.
 */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'unsafe-inline'",
    'img-src https: http: data:',
    'font-src https: data:',
    "connect-src 'self'",
    "frame-src 'self' about:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
}

let warming: Promise<unknown> | undefined;
/** The validator takes ~0.8 s to start: begin when the page loads, not on its first render. */
function warmValidator(logger: Logger): void {
  warming ??= Promise.resolve()
    .then(() => getAmpValidator())
    .catch((err: unknown) => logger.warn({ err }, 'preview: the AMP validator is not available; verdicts show UNKNOWN'));
}
