import type { CardReads } from './split-product-cards.ts';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What compiling one template version produced: MJML's output and Handlebars' precompiled specs. */
export interface CompiledArtifacts {
  hash: string;
  mjmlDocument?: string;
  skeleton?: string;
  mjmlWarnings: string[];
  /** Handlebars.precompile output per compile unit ("html", "amp", "wa.session.body", …). */
  specs: Record<string, string>;
  /** Per locale: strings it lacks, for which English was baked in. */
  staticWarnings?: Record<string, string[]>;
  /** Per part with product cards cut out ("en/amp"): what each card reads (split-product-cards.ts). */
  cardReads?: Record<string, CardReads[]>;
}

/**
 * Compiled templates by content hash, in memory and on disk. The disk copy lets a restart (or
 * the next CLI run) skip MJML, which costs tens of milliseconds per template. Writes go
 * through a temp file and a rename so a crash never leaves a torn entry.
 */
export class CompileCache {
  private readonly memory = new Map<string, CompiledArtifacts>();
  /** How lookups were served: the preview shows these, and tests prove restarts skip MJML. */
  readonly stats = { memoryHits: 0, diskHits: 0, misses: 0 };

  constructor(private readonly dir: string | undefined) {}

  get(key: string): CompiledArtifacts | undefined {
    const hit = this.memory.get(key);
    if (hit) {
      this.stats.memoryHits++;
      return hit;
    }
    if (this.dir) {
      try {
        const entry = JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as CompiledArtifacts;
        if (entry.hash === key) {
          this.memory.set(key, entry);
          this.stats.diskHits++;
          return entry;
        }
      } catch {
        // Missing or unreadable entries are simply compiled again.
      }
    }
    this.stats.misses++;
    return undefined;
  }

  set(entry: CompiledArtifacts): void {
    this.memory.set(entry.hash, entry);
    if (!this.dir) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      const tmp = join(this.dir, `${entry.hash}.${process.pid}.tmp`);
      writeFileSync(tmp, JSON.stringify(entry));
      renameSync(tmp, join(this.dir, `${entry.hash}.json`));
    } catch {
      // A read-only disk only costs the next start a recompile.
    }
  }
}
