#!/usr/bin/env node
// Fetches the official AMP validator engine (validator_wasm.js) at install time.
//
// amphtml-validator downloads this file from cdn.ampproject.org on first use, which is
// unreachable from CI and from many production networks. The same file ships inside the
// `next@15` npm package, so we take it from the npm registry instead and keep it in a
// git-ignored cache. It is never committed. AMP_VALIDATOR_JS overrides the location.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NEXT_VERSION = process.env.AMP_VALIDATOR_NEXT_VERSION ?? '15.5.29';
const INNER = 'package/dist/compiled/amphtml-validator/validator_wasm.js';
const target = join(root, '.cache', 'amp-validator', 'validator_wasm.js');

if (process.env.AMP_VALIDATOR_JS) {
  console.log(`[inboxcart] AMP_VALIDATOR_JS is set (${process.env.AMP_VALIDATOR_JS}); not fetching the validator.`);
  process.exit(0);
}
if (existsSync(target)) {
  console.log(`[inboxcart] AMP validator already cached at ${target}`);
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'inboxcart-amp-'));
try {
  console.log(`[inboxcart] fetching validator_wasm.js from next@${NEXT_VERSION} on the npm registry…`);
  const out = execFileSync('npm', ['pack', `next@${NEXT_VERSION}`, '--silent', '--pack-destination', work], {
    cwd: work,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = join(work, out.trim().split('\n').pop());
  execFileSync('tar', ['-xzf', tarball, '-C', work, INNER], { stdio: 'inherit' });
  mkdirSync(dirname(target), { recursive: true });
  renameSync(join(work, INNER), target);
  console.log(`[inboxcart] AMP validator cached at ${target}`);
} catch (err) {
  console.error(`[inboxcart] could not fetch the AMP validator: ${err.message}`);
  console.error('[inboxcart] set AMP_VALIDATOR_JS to a local validator_wasm.js (or URL) and run npm install again.');
  process.exit(1);
} finally {
  rmSync(work, { recursive: true, force: true });
}
