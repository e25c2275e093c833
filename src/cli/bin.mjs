#!/usr/bin/env node
// The one entry point of the CLI, for npx, `npm run` and installed bin links alike: registers
// tsx so the TypeScript sources run without a build step, then runs main. main.ts does not
// guess from process.argv whether it was started directly: npx starts it through a symlink
// named `inboxcart`, which such a guess missed.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
