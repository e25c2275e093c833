// A worker thread starts without the parent's loaders, and the service runs its TypeScript
// through tsx (no build step): register it for this thread, then load the render thread.
import { register } from 'tsx/esm/api';

register();
await import('./render-thread.ts');
