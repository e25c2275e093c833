// `npm run bench -- --scenario personal --thread`: the personal scenario in a worker thread.
// A worker thread starts without the parent's loaders (as src/http/batch/render-thread-entry.mjs
// says): register tsx for this thread, then run the scenario.
import { register } from 'tsx/esm/api';

register();
await import('./personal-scenario.ts');
