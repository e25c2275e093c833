import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openStore, type OpenStoreOptions, type Store } from '../../src/store/open-store.ts';
import { testClock } from '../support/test-clock.ts';

/**
 * The contract suites run every test against both backends. Each test file gets its own SQLite
 * file and its own PostgreSQL schema, so files can run in parallel against one database; every
 * store runs on the test clock.
 */
export const PG_URL = process.env.INBOXCART_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const BACKENDS = ['sqlite', 'postgres'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface Backend {
  name: BackendName;
  /** Options that reopen the same database (same file or schema) every time. */
  options: OpenStoreOptions;
  open(): Promise<Store>;
  /** Removes the file or drops the schema. */
  destroy(): Promise<void>;
}

export function createBackend(name: BackendName): Backend {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'inboxcart-store-'));
    const options = { dataDir: dir, sqliteFile: 'store.sqlite', now: testClock.now };
    return {
      name,
      options,
      open: () => openStore(options),
      destroy: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const schema = `t_store_${randomBytes(6).toString('hex')}`;
  const options = { databaseUrl: PG_URL, pgSchema: schema, now: testClock.now };
  return {
    name,
    options,
    open: () => openStore(options),
    destroy: () => dropPgSchema(schema),
  };
}

/** Drops a test's private PostgreSQL schema and everything in it. */
export async function dropPgSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** A value no other test in the file uses, so tests can share one store. */
export function uid(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/**
 * Opens one store for the enclosing describe block and removes its database afterwards.
 * Call `store()` inside tests, after beforeAll has run.
 */
export function useStore(name: BackendName): { backend: Backend; store(): Store } {
  const backend = createBackend(name);
  let current: Store | undefined;
  beforeAll(async () => {
    current = await backend.open();
  });
  afterAll(async () => {
    await current?.close();
    await backend.destroy();
  });
  return {
    backend,
    store() {
      if (!current) throw new Error('store not open yet');
      return current;
    },
  };
}
