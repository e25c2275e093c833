import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { countBareLf } from '../support/parse-eml.ts';
import { FIXTURES_DIR, NOW, TEMPLATES_DIR } from '../support/render-kit.ts';

const run = promisify(execFile);
const BIN = join(PROJECT_ROOT, 'src', 'cli', 'bin.mjs');

/** Runs a command in the repository root, as README's commands are run. */
async function exec(file: string, args: string[], env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'inboxcart-cli-'));
  try {
    const { stdout, stderr } = await run(file, args, { cwd: PROJECT_ROOT, env: { ...process.env, DATA_DIR: dataDir, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const cli = (args: string[], env: Record<string, string> = {}) => exec('node', [BIN, ...args], env);

describe('inboxcart CLI', () => {
  it('render prints the render result as JSON', async () => {
    const r = await cli(['render', '--template', 'recommendations', '--profile', join(FIXTURES_DIR, 'profiles', 'ingrid.json'),
      '--recommendations', join(FIXTURES_DIR, 'recommendations', 'winback.json'), '--now', NOW, '--channels', 'email']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ template: 'recommendations', locale: 'sv', segments: ['at_risk', 'mountains'] });
    expect(result.email.subject).toBe('Ingrid, utvalt för dig');
    expect(Object.keys(result.email)).toEqual(['subject', 'preheader', 'amp', 'html', 'text', 'headers']);
  });

  it('render names each invalid field and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'inboxcart-cli-'));
    const profile = join(dir, 'p.json');
    writeFileSync(profile, JSON.stringify({ id: 'x', email: 'not-an-email', currency: 'euro' }));
    const r = await cli(['render', '--template', 'recommendations', '--profile', profile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('profile.email: Invalid email address');
    expect(r.stderr).toContain('profile.currency: currency must be an ISO 4217 code such as EUR');
  });

  it('render --format eml writes an RFC 5322 message with the AMP part before the HTML part', async () => {
    const r = await cli(['render', '--template', 'price-drop', '--profile', join(FIXTURES_DIR, 'profiles', 'rachel.json'),
      '--recommendations', join(FIXTURES_DIR, 'recommendations', 'price-drop.json'), '--format', 'eml', '--now', NOW]);
    expect(r.code).toBe(0);
    const types = [...r.stdout.matchAll(/^Content-Type: (text\/[\w-]+)/gm)].map((m) => m[1]);
    expect(types).toEqual(['text/plain', 'text/x-amp-html', 'text/html']);
    expect(countBareLf(r.stdout)).toBe(0);
  });

  it('validate passes on the shipped templates', async () => {
    const r = await cli(['validate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ \d+ templates × 10 profiles × 3 locales: \d+ renders checked, 0 problems\./);
  }, 60_000);

  it('validate fails with file and line when a template breaks the AMP rules', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-tpl-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'price-drop', 'email.amp.hbs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('<h1>', '<h1 onclick="x()">'));
    const r = await cli(['validate', '--template', 'price-drop', '--locales', 'en'], { TEMPLATES_DIR: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ price-drop\/email\.amp\.hbs:\d+ \(rendered line \d+, column \d+\) \[ayse\/en\]: The attribute 'onclick' may not appear in tag 'h1'\./);
  }, 60_000);

  it('validate reports a string a locale lacks (English would be sent instead)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-tpl-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'locales', 'tr.json');
    const tr = JSON.parse(readFileSync(file, 'utf8'));
    delete tr.priceDrop.headline;
    writeFileSync(file, JSON.stringify(tr));
    const r = await cli(['validate', '--template', 'price-drop', '--locales', 'tr'], { TEMPLATES_DIR: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("✗ templates/locales/tr.json [ayse/tr]: locale string 'priceDrop.headline' is missing in 'tr'; used English");
  }, 60_000);

  it('validate refuses an approved WhatsApp body that WhatsApp would reject', async () => {
    const root = mkdtempSync(join(tmpdir(), 'inboxcart-tpl-'));
    cpSync(TEMPLATES_DIR, root, { recursive: true });
    const file = join(root, 'locales', 'sv.json');
    const sv = JSON.parse(readFileSync(file, 'utf8'));
    sv.priceDrop.wa.approved = '{{1}} {{2}} kostar nu {{3}}';
    writeFileSync(file, JSON.stringify(sv));
    const r = await cli(['validate', '--template', 'price-drop', '--locales', 'sv'], { TEMPLATES_DIR: root });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('✗ price-drop/whatsapp.json (approved, sv): the body starts with a variable; WhatsApp rejects such templates');
  }, 60_000);
});

describe('the CLI exactly as README runs it, from the repository root', () => {
  // npx runs the bin of the package it is started in (npm ≥ 9.1) through a link in its cache
  // named `inboxcart`, not through bin.mjs by name; `npm ci` links no such bin itself.
  it('npx inboxcart validate prints the verdict and exits 0', async () => {
    const r = await exec('npx', ['inboxcart', 'validate', '--template', 'price-drop', '--locales', 'en']);
    expect(r.stdout).toBe('✓ 1 templates × 10 profiles × 1 locales: 10 renders checked, 0 problems.\n');
    expect(r.code).toBe(0);
  }, 120_000);

  it('npm run validate runs the same entry', async () => {
    const r = await exec('npm', ['run', 'validate', '--', '--template', 'price-drop', '--locales', 'en']);
    expect(r.stdout).toContain('\n✓ 1 templates × 10 profiles × 1 locales: 10 renders checked, 0 problems.\n');
    expect(r.code).toBe(0);
  }, 120_000);
});
