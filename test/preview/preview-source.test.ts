import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../../src/config.ts';
import { PreviewSource, type PreviewSnapshot } from '../../src/http/preview/preview-source.ts';
import { removeDir } from '../http/helpers.ts';

let work: string;
let templatesDir: string;
let source: PreviewSource;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'inboxcart-preview-source-'));
  templatesDir = join(work, 'templates');
  cpSync(join(PROJECT_ROOT, 'templates'), templatesDir, { recursive: true });
  source = new PreviewSource({
    templatesDir,
    fixturesDir: join(PROJECT_ROOT, 'fixtures'),
    cacheDir: join(PROJECT_ROOT, '.cache', 'templates'),
    logger: pino({ level: 'silent' }),
    debounceMs: 50,
  });
});
afterAll(() => {
  source.close();
  removeDir(work);
});

const file = (path: string) => join(templatesDir, path);

describe('PreviewSource', () => {
  it('reads the files again for every request while nobody watches, keeping the version when nothing changed', async () => {
    const first = await source.current();
    expect(first.set?.templates.has('price-drop')).toBe(true);
    const again = await source.current();
    expect(again).not.toBe(first);
    expect(again.version).toBe(first.version);

    const path = file('price-drop/template.json');
    const before = readFileSync(path, 'utf8');
    writeFileSync(path, before.replace('"description": "', '"description": "Now: '));
    try {
      expect((await source.current()).version).toBe(first.version + 1);
    } finally {
      writeFileSync(path, before);
    }
  });

  it('while subscribed, announces each settled change once, and a save without changes not at all', async () => {
    const seen: PreviewSnapshot[] = [];
    const unsubscribe = source.subscribe((s) => seen.push(s));
    try {
      const start = (await source.current()).version;
      const path = file('locales/en.json');
      const before = readFileSync(path, 'utf8');
      // An editor's save: several writes in a burst.
      writeFileSync(path, before.replace('"anonymous": "Hi there,"', '"anonymous": "Hello,"'));
      writeFileSync(path, before.replace('"anonymous": "Hi there,"', '"anonymous": "Hello there,"'));
      await vi.waitFor(() => expect(seen.at(-1)?.version).toBe(start + 1), { timeout: 5000 });
      const announced = seen.length;

      // Saved again without a change: once that save has settled and reloaded, nothing more was announced.
      const settled = source.nextSettle();
      writeFileSync(path, before.replace('"anonymous": "Hi there,"', '"anonymous": "Hello there,"'));
      await settled;
      expect(seen.length).toBe(announced);
      expect(seen.filter((s) => s.version === start + 1)).toHaveLength(1);

      writeFileSync(path, before);
      await vi.waitFor(() => expect(seen.at(-1)?.version).toBe(start + 2), { timeout: 5000 });
    } finally {
      unsubscribe();
    }
  });

  it('keeps the last template set when a shared file breaks, and reports the file', async () => {
    const good = await source.current();
    const path = file('locales/sv.json');
    const before = readFileSync(path, 'utf8');
    writeFileSync(path, before.slice(0, 40));
    try {
      const broken = await source.current();
      expect(broken.set).toBe(good.set);
      expect(broken.problems).toEqual([expect.objectContaining({ severity: 'error', file: 'locales/sv.json', problem: expect.stringContaining('is not valid JSON') })]);
    } finally {
      writeFileSync(path, before);
    }
    expect((await source.current()).problems).toEqual([]);
  });
});
