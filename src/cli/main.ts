import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildEml } from '../channels/email/build-eml.ts';
import { ConfigError, loadConfig } from '../config.ts';
import { createRenderDeps } from '../render/create-renderer.ts';
import { renderRequestSchema } from '../render/render-input.ts';
import { renderMessage } from '../render/render-message.ts';
import { FIXTURES_NOW, loadFixtures } from '../validate/template-fixtures.ts';
import { loadTemplateSet } from '../templates/template-registry.ts';
import { validateTemplates } from '../validate/validate-templates.ts';
import { parseArgs } from './parse-args.ts';
import { commandTwilioSync } from './twilio-sync.ts';
import { commandCampaignStatus } from './campaign-progress.ts';

const USAGE = `inboxcart — commerce inside messages

Usage:
  inboxcart render --template T --profile P.json [--recommendations R.json] [--cart C.json]
                   [--order O.json] [--locale L] [--variant V] [--channels email,whatsapp]
                   [--campaign ID] [--now ISO-DATE] [--format json|eml]
  inboxcart validate [--template T] [--locales en,tr,sv] [--now ISO-DATE]
  inboxcart demo [--out DIR]
  inboxcart twilio sync [--locales en,tr,sv] [--dry-run]
                   create/update the WhatsApp Content API definitions and record their sids
  inboxcart campaign status ID [--url http://localhost:3000] [--watch]
                   a campaign's progress bar from a running service (INBOXCART_API_KEY)

Environment: see README.md (TEMPLATES_DIR, FIXTURES_DIR, TOKEN_SECRETS, PUBLIC_BASE_URL…).`;

class UsageError extends Error {}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch {
    throw new UsageError(`Cannot read ${what} file '${path}'.`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} file '${path}' is not valid JSON: ${(err as Error).message}`);
  }
}

async function setup(options: { httpsEndpoints?: boolean } = {}) {
  const loaded = loadConfig();
  // validate checks templates, not this machine's deployment: AMP needs https endpoints, so a
  // local http base URL is swapped for a placeholder https one there.
  const config =
    options.httpsEndpoints && !loaded.publicBaseUrl.startsWith('https://') ? { ...loaded, publicBaseUrl: 'https://inboxcart.example' } : loaded;
  const templates = await loadTemplateSet({ root: config.templatesDir, cacheDir: config.templateCacheDir });
  const fixtures = loadFixtures(config.fixturesDir);
  const deps = createRenderDeps({ config, templates, catalog: (sku) => fixtures.catalog.get(sku) });
  return { config, templates, fixtures, deps };
}

async function commandRender(flags: Map<string, string | true>): Promise<number> {
  const str = (name: string) => {
    const v = flags.get(name);
    if (v === true) throw new UsageError(`--${name} needs a value.`);
    return v;
  };
  const template = str('template');
  const profilePath = str('profile');
  if (!template || !profilePath) throw new UsageError('render needs --template and --profile.');
  const { templates, deps } = await setup();
  const candidate = {
    template,
    profile: readJson(profilePath, 'profile'),
    recommendations: str('recommendations') ? readJson(str('recommendations')!, 'recommendations') : undefined,
    cart: str('cart') ? readJson(str('cart')!, 'cart') : undefined,
    order: str('order') ? readJson(str('order')!, 'order') : undefined,
    locale: str('locale'),
    variant: str('variant'),
    channels: str('channels')?.split(',').map((c) => c.trim()),
    context: { campaignId: str('campaign'), now: str('now') },
  };
  const parsed = renderRequestSchema.safeParse(candidate);
  if (!parsed.success) {
    console.error('The render request is invalid:');
    for (const i of parsed.error.issues) console.error(`  ${i.path.join('.') || '(request)'}: ${i.message}`);
    return 2;
  }
  const failure = templates.failures.get(template);
  if (failure) {
    console.error(`Template '${template}' does not compile:`);
    for (const e of failure) console.error(`  ${e.message}`);
    return 1;
  }
  const result = renderMessage(parsed.data, deps);
  if (str('format') === 'eml') {
    if (!result.email) throw new UsageError(`Template '${template}' has no email part to write as .eml.`);
    const to = parsed.data.profile.email ?? 'customer@example.invalid';
    const marketing = templates.templates.get(template)?.manifest.category === 'marketing';
    process.stdout.write(
      await buildEml(result.email, {
        from: `${templates.shared.brand.name} <no-reply@example.invalid>`,
        to,
      }),
    );
  } else {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  }
  for (const w of result.warnings) console.error(`warning: ${w}`);
  return 0;
}

async function commandValidate(flags: Map<string, string | true>): Promise<number> {
  const { templates, fixtures, deps } = await setup({ httpsEndpoints: true });
  const only = typeof flags.get('template') === 'string' ? [flags.get('template') as string] : undefined;
  const locales = typeof flags.get('locales') === 'string' ? (flags.get('locales') as string).split(',') : [...templates.shared.locales.keys()];
  // The fixtures' own date by default, so the verdict does not change with the calendar.
  const now = typeof flags.get('now') === 'string' ? (flags.get('now') as string) : FIXTURES_NOW;
  const report = await validateTemplates(templates, fixtures, deps, { locales, now, templates: only });
  for (const p of report.problems) {
    const who = p.profile ? ` [${p.profile}/${p.locale}]` : '';
    console.error(`✗ ${p.where}${who}: ${p.message}`);
  }
  const names = only ?? [...templates.templates.keys(), ...templates.failures.keys()].filter((n) => !n.startsWith('partial:'));
  console.log(`${report.problems.length === 0 ? '✓' : '✗'} ${names.length} templates × ${fixtures.profiles.size} profiles × ${locales.length} locales: ${report.checked} renders checked, ${report.problems.length} problems.`);
  return report.problems.length === 0 ? 0 : 1;
}

async function commandDemo(flags: Map<string, string | true>): Promise<number> {
  const { config, templates, fixtures, deps } = await setup();
  const out = resolve(typeof flags.get('out') === 'string' ? (flags.get('out') as string) : 'out');
  const campaign = readJson(join(config.fixturesDir, 'campaigns', 'demo.json'), 'campaign') as { template: string; profiles: string[] };
  const compiled = templates.templates.get(campaign.template);
  if (!compiled) throw new UsageError(`The demo campaign uses template '${campaign.template}', which does not compile.`);
  mkdirSync(out, { recursive: true });
  const { sampleRequest } = await import('../validate/template-fixtures.ts');
  for (const profile of campaign.profiles) {
    const result = renderMessage(sampleRequest(compiled.manifest, fixtures, profile), deps);
    if (!result.email) continue;
    writeFileSync(join(out, `${profile}.html`), result.email.html);
    if (result.email.amp) writeFileSync(join(out, `${profile}.amp.html`), result.email.amp);
    writeFileSync(join(out, `${profile}.txt`), result.email.text);
    const eml = await buildEml(result.email, {
      from: `${templates.shared.brand.name} <news@example.invalid>`,
      to: `${profile}@example.invalid`,
    });
    writeFileSync(join(out, `${profile}.eml`), eml);
  }
  console.log(`Rendered '${campaign.template}' for ${campaign.profiles.length} profiles into ${out}`);
  return 0;
}

/** Runs one CLI command and returns its exit code; src/cli/bin.mjs is what calls it. */
export async function main(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv);
  const [command] = positional;
  try {
    switch (command) {
      case 'render':
        return await commandRender(flags);
      case 'validate':
        return await commandValidate(flags);
      case 'demo':
        return await commandDemo(flags);
      case 'twilio':
        if (positional[1] !== 'sync') throw new UsageError(`Unknown twilio command '${positional[1] ?? ''}'. Use: inboxcart twilio sync`);
        return await commandTwilioSync({
          config: loadConfig(),
          locales: typeof flags.get('locales') === 'string' ? (flags.get('locales') as string).split(',').map((l) => l.trim()) : undefined,
          dryRun: flags.get('dry-run') === true,
        });
      case 'campaign': {
        const id = positional[2];
        if (positional[1] !== 'status' || !id) throw new UsageError('Use: inboxcart campaign status ID [--url URL] [--watch]');
        const url = flags.get('url');
        return await commandCampaignStatus({
          id,
          url: typeof url === 'string' ? url : (process.env.INBOXCART_URL ?? 'http://localhost:3000'),
          apiKey: process.env.INBOXCART_API_KEY,
          watch: flags.get('watch') === true,
        });
      }
      case undefined:
      case 'help':
        console.log(USAGE);
        return command ? 0 : 2;
      default:
        console.error(`Unknown command '${command}'.\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
}
