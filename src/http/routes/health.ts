import type { Request, Response } from 'express';
import type { Store } from '../../store/index.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';

/** A database that does not answer in this time counts as down; a load balancer's probe must not hang. */
const PING_TIMEOUT_MS = 2000;

export function healthRoutes(o: { store: Pick<Store, 'ping' | 'dialect'>; templates: TemplateSet; draining?: () => boolean }) {
  const templateProblems = [...o.templates.failures].map(
    ([name, errors]) => `template '${name}' failed to compile: ${errors[0]?.message ?? 'unknown error'}${errors.length > 1 ? ` (+${errors.length - 1} more)` : ''}`,
  );

  return {
    /** Liveness: the process answers. Nothing else, so a slow database never gets the process restarted. */
    health: (_req: Request, res: Response) => {
      res.json({ status: 'ok' });
    },

    /** Readiness: send traffic only when the database answers and every template compiled. */
    ready: async (_req: Request, res: Response) => {
      const reasons = [...templateProblems];
      if (o.draining?.()) reasons.unshift('shutting down');
      if (!(await ping(o.store))) reasons.unshift(`the ${o.store.dialect} database does not answer`);
      res.setHeader('Cache-Control', 'no-store');
      res.status(reasons.length ? 503 : 200).json(reasons.length ? { status: 'not_ready', reasons } : { status: 'ready' });
    },
  };
}

async function ping(store: Pick<Store, 'ping'>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([store.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
