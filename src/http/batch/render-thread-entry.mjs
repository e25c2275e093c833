// A worker thread starts without the parent's loaders, and the service runs its TypeScript
// through tsx (no build step): register it for this thread, then hand piscina the render
// thread's task handler (a promise of it: piscina awaits the default export).
import { register } from 'tsx/esm/api';

register();
export default import('./render-thread.ts').then((m) => m.default);
