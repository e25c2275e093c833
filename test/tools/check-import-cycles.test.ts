import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCycles, findImportCycles } from '../../src/tools/check-import-cycles.ts';

/** A small src/ tree from { 'render/a.ts': "import … from '../commerce/b.ts';" }. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'import-cycles-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('check-import-cycles', () => {
  it('reports a cycle between two top-level folders, type-only imports included, naming the imports', async () => {
    const root = tree({
      'render/view.ts': "import { price } from '../commerce/price.ts';\nexport const view = () => price();\n",
      'commerce/price.ts': "import type { View } from '../render/types.ts';\nexport const price = (): View | 1 => 1;\n",
      'render/types.ts': 'export type View = { a: 1 };\n',
      'shared/util.ts': 'export const u = 1;\n',
      'commerce/uses-shared.ts': "import { u } from '../shared/util.ts';\nexport const v = u;\n",
    });
    const cycles = await findImportCycles(root);
    expect(cycles.files).toEqual([]);
    expect(cycles.folders).toEqual([{ folders: ['commerce', 'render'], imports: ['commerce/price.ts → render/types.ts', 'render/view.ts → commerce/price.ts'] }]);
    expect(describeCycles(cycles)[0]).toMatch(/^folder cycle: commerce ↔ render/);
    // An allowed (baseline) edge breaks it.
    expect((await findImportCycles(root, new Set(['commerce -> render']))).folders).toEqual([]);
  });

  it('reports a file cycle inside one folder', async () => {
    const root = tree({
      'campaigns/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'campaigns/b.ts': "import type { a } from './a.ts';\nexport const b: typeof a | 1 = 1;\n",
    });
    const cycles = await findImportCycles(root);
    expect(cycles.folders).toEqual([]);
    expect(cycles.files).toEqual([['campaigns/a.ts', 'campaigns/b.ts']]);
  });

  it('finds no cycle in a layered tree', async () => {
    const root = tree({ 'render/a.ts': "import { b } from '../commerce/b.ts';\nexport const a = b;\n", 'commerce/b.ts': 'export const b = 1;\n' });
    expect(await findImportCycles(root)).toEqual({ files: [], folders: [] });
  });
});
