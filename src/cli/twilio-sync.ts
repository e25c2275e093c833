import { approvedDefinitions, sessionDefinitions, type ContentDefinition } from '../channels/whatsapp/content-definitions.ts';
import { syncContent, type SyncReport } from '../channels/whatsapp/content-sync.ts';
import { createTwilioClient, TwilioNotConfiguredError, type TwilioHttpClient } from '../channels/whatsapp/twilio-sender.ts';
import type { Config } from '../config.ts';
import { createRenderDeps } from '../render/create-renderer.ts';
import { renderMessage } from '../render/render-message.ts';
import { openStore } from '../store/index.ts';
import { loadFixtures, sampleRequest, type Fixtures } from '../validate/template-fixtures.ts';
import { loadTemplateSet, type TemplateSet } from '../templates/template-registry.ts';

export interface TwilioSyncOptions {
  config: Config;
  /** Locales to create approved templates for; default every locale with strings. */
  locales?: string[];
  dryRun?: boolean;
  httpClient?: TwilioHttpClient;
  /** Already compiled templates (tests); otherwise loaded from config.templatesDir. */
  templates?: TemplateSet;
  out?: (line: string) => void;
}

/**
 * Sample values for an approved template's variables, as WhatsApp reviewers will read them:
 * the template rendered for the first fixture profile that gets its approved form.
 */
export function fixtureSamples(templates: TemplateSet, fixtures: Fixtures, config: Config) {
  const deps = createRenderDeps({ config, templates, catalog: (sku) => fixtures.catalog.get(sku) });
  return (template: string, locale: string): Record<string, string> | undefined => {
    const compiled = templates.templates.get(template);
    if (!compiled) return undefined;
    for (const name of fixtures.profiles.keys()) {
      try {
        const request = sampleRequest(compiled.manifest, fixtures, name, { locale });
        // Outside the window with consent: the render takes the approved form.
        const profile = { ...request.profile, whatsapp: undefined, consent: { ...request.profile.consent, whatsapp: true } };
        const wa = renderMessage({ ...request, profile, channels: ['whatsapp'] }, deps).whatsapp;
        if (wa && !wa.suppressed && wa.kind === 'template' && wa.message.contentVariables) {
          return JSON.parse(wa.message.contentVariables) as Record<string, string>;
        }
      } catch {
        // This fixture does not satisfy the template's data (no cart, sold out…): try the next.
      }
    }
    return undefined;
  };
}

/** Every Content definition inboxcart sends by: the session shapes and each approved template × locale. */
export function allDefinitions(templates: TemplateSet, fixtures: Fixtures, config: Config, locales: readonly string[]): ContentDefinition[] {
  return [...sessionDefinitions(), ...approvedDefinitions(templates, locales, fixtureSamples(templates, fixtures, config))];
}

/**
 * `inboxcart twilio sync`: creates or updates the Content API definitions in the configured
 * Twilio account and records their sids in the database, where running services pick them up
 * (within a minute; see content-sid-cache.ts). Exit code 1 when any definition failed.
 */
export async function commandTwilioSync(options: TwilioSyncOptions): Promise<number> {
  const { config } = options;
  const out = options.out ?? ((line: string) => console.log(line));
  const templates = options.templates ?? (await loadTemplateSet({ root: config.templatesDir, cacheDir: config.templateCacheDir }));
  for (const [name, errors] of templates.failures) out(`! template '${name}' does not compile and is skipped: ${errors.map((e) => e.message).join('; ')}`);
  const locales = options.locales ?? [...templates.shared.locales.keys()];
  const unknown = locales.filter((l) => !templates.shared.locales.has(l));
  if (unknown.length) {
    out(`No strings for locale(s) ${unknown.join(', ')} in ${config.templatesDir}/locales; known: ${[...templates.shared.locales.keys()].join(', ')}.`);
    return 2;
  }
  const definitions = allDefinitions(templates, loadFixtures(config.fixturesDir), config, locales);
  let client: ReturnType<typeof createTwilioClient> | undefined;
  try {
    client = options.dryRun ? undefined : createTwilioClient(config, { httpClient: options.httpClient });
  } catch (error) {
    if (!(error instanceof TwilioNotConfiguredError)) throw error;
    out(`${error.message} Or run with --dry-run to see what would be created.`);
    return 2;
  }
  // Staging must see at a glance that it is not changing the real Twilio account.
  if (client && config.twilio.apiBaseUrl) out(`Content API calls go to ${config.twilio.apiBaseUrl} (TWILIO_API_BASE_URL).`);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  let report: SyncReport;
  try {
    report = await syncContent(client, store.whatsappContents, definitions);
  } finally {
    await store.close();
  }
  const verb = options.dryRun ? 'would ' : '';
  for (const key of report.created) out(`+ ${verb}create ${key}`);
  for (const key of report.updated) out(`~ ${verb}update ${key}`);
  for (const s of report.submitted) out(`  submitted ${s.key} for WhatsApp approval as '${s.name}' (${s.status})`);
  for (const w of report.warnings) out(`! ${w.key}: ${w.message}`);
  for (const f of report.failed) out(`✗ ${f.key}: ${f.message}`);
  const [created, updated] = options.dryRun ? ['to create', 'to update'] : ['created', 'updated'];
  out(
    `${report.failed.length ? '✗' : '✓'} ${definitions.length} Content definitions: ${report.created.length} ${created}, ${report.updated.length} ${updated}, ${report.unchanged.length} unchanged, ${report.failed.length} failed.`,
  );
  return report.failed.length ? 1 : 0;
}
