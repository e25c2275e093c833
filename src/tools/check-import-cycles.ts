/**
 * npm run lint (after tsc): fails when src/ has an import cycle — between two files, or between
 * two top-level folders of src/ (render → commerce → render), type-only imports included. A
 * folder cycle means two folders each need the other, so neither can be read, tested or
 * changed on its own; the fix is to move the shared piece to the folder that owns it (types
 * shared by two folders go in the lower one).
 *
 * Usage: tsx src/tools/check-import-cycles.ts [dir]  (default: the project's src/)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';

export interface ImportCycles {
  /** Each cycle as the files in import order, relative to the checked folder. */
  files: string[][];
  /** Each set of top-level folders that import each other, with one import per folder edge as evidence. */
  folders: { folders: string[]; imports: string[] }[];
}

const SOURCE = /\.(ts|mts|mjs|js)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && SOURCE.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** The top-level folder of src/ a file is in (`render`), or the file itself when it sits in src/ directly. */
function folderOf(file: string): string {
  return file.split(sep)[0]!;
}

/**
 * `allowed`: folder edges (`"commerce -> store"`) left out of the folder check — the cycles that
 * existed when the check was introduced (import-cycles-baseline.json), to be removed one by one.
 * Any other edge that closes a cycle fails.
 */
export async function findImportCycles(root: string, allowed: ReadonlySet<string> = new Set()): Promise<ImportCycles> {
  const tree = await parseDependencyTree(sourceFiles(root), { cwd: root, context: root, transform: false, skipDynamicImports: false, tsconfig: undefined });
  const files = parseCircular(tree);

  // Folder graph: an edge a → b for every import from a file in a to a file in b (first import kept as evidence).
  const edges = new Map<string, Map<string, string>>();
  for (const [issuer, deps] of Object.entries(tree)) {
    for (const dep of deps ?? []) {
      if (!dep.id || !tree[dep.id] || dep.id.startsWith('..')) continue; // packages, built-ins and unresolved imports
      const from = folderOf(relative(root, join(root, issuer)));
      const to = folderOf(relative(root, join(root, dep.id)));
      if (from === to || allowed.has(`${from} -> ${to}`)) continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, `${issuer} → ${dep.id}`);
      edges.set(from, out);
    }
  }
  const folders = stronglyConnected(edges)
    .filter((scc) => scc.length > 1)
    .map((scc) => {
      const inside = new Set(scc);
      const imports: string[] = [];
      for (const from of scc) for (const [to, evidence] of edges.get(from) ?? []) if (inside.has(to)) imports.push(evidence);
      return { folders: scc.sort(), imports: imports.sort() };
    });
  return { files, folders };
}

/** Tarjan's strongly connected components. */
function stronglyConnected(edges: Map<string, Map<string, string>>): string[][] {
  const nodes = new Set<string>([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc);
    }
  };
  for (const v of [...nodes].sort()) if (!index.has(v)) visit(v);
  return out;
}

export function describeCycles(cycles: ImportCycles): string[] {
  const lines: string[] = [];
  for (const c of cycles.files) lines.push(`file cycle: ${[...c, c[0]].join(' → ')}`);
  for (const c of cycles.folders) {
    lines.push(`folder cycle: ${c.folders.join(' ↔ ')} (move the shared code to the folder that owns it)`);
    for (const i of c.imports) lines.push(`  ${i}`);
  }
  return lines;
}

/** The folder edges import-cycles-baseline.json allows (see there why). */
export function readBaseline(file = fileURLToPath(new URL('./import-cycles-baseline.json', import.meta.url))): Set<string> {
  if (!existsSync(file)) return new Set();
  return new Set((JSON.parse(readFileSync(file, 'utf8')) as { edges: string[] }).edges);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
  const cycles = await findImportCycles(root, process.argv[2] ? new Set() : readBaseline());
  const lines = describeCycles(cycles);
  for (const line of lines) console.error(line);
  if (lines.length) process.exitCode = 1;
  else console.log(`no import cycles in ${relative(process.cwd(), root) || '.'} (files, and top-level folders beyond import-cycles-baseline.json)`);
}
