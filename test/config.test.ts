import { availableParallelism, tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

const TOKEN_SECRETS = 'test:0123456789abcdef0123456789abcdef';
const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: tmpdir(), TOKEN_SECRETS, ...env });

describe('WORKERS', () => {
  it('defaults to 1 (no cluster), takes a count, and auto means one per CPU', () => {
    expect(load({}).workers).toBe(1);
    expect(load({ WORKERS: '3' }).workers).toBe(3);
    expect(load({ WORKERS: 'auto' }).workers).toBe(availableParallelism());
    expect(load({ WORKERS: 'AUTO' }).workers).toBe(availableParallelism());
  });

  it.each(['0', '-1', '1.5', 'two', '', '1000'])('refuses %j, naming the variable and what it takes', (value) => {
    let error: unknown;
    try {
      load({ WORKERS: value });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^WORKERS: WORKERS is a number of worker processes \(1 to 999\) or auto/)]);
  });
});
