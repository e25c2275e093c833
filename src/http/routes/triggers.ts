import type { Request, Response } from 'express';
import type { Config } from '../../config.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import { isTriggerName, TRIGGER_NAMES, triggerPatchSchema, type TriggerName, type TriggerSettings } from '../../triggers/trigger-config.ts';
import { triggerRuns } from '../../triggers/trigger-runs.ts';
import type { Triggers } from '../../triggers/trigger-service.ts';
import type { Store } from '../../store/index.ts';
import { fieldsFromZod, HttpError, type FieldProblem } from '../http-error.ts';

/** A trigger as the API shows it: its settings and the ones that come from the environment. */
function view(name: TriggerName, all: TriggerSettings, config: Config) {
  const fromEnv = name === 'abandoned-cart' ? { cartAbandonHours: config.triggers.cartAbandonHours } : name === 'win-back' ? { atRiskDays: config.thresholds.atRiskDays } : {};
  return { name, ...all[name], ...fromEnv };
}

/** GET /v1/triggers, GET and PUT /v1/triggers/:name, GET /v1/triggers/:name/runs. */
export function triggerRoutes(o: { triggers: Pick<Triggers, 'settings' | 'fires'>; store: Pick<Store, 'db' | 'now'>; templates: TemplateSet; config: Config }) {
  function nameOf(req: Request<{ name: string }>): TriggerName {
    const name = req.params.name;
    if (!isTriggerName(name)) throw new HttpError(404, 'unknown_trigger', `No trigger '${name}'. The triggers are ${TRIGGER_NAMES.join(', ')}.`);
    return name;
  }

  return {
    list: async (_req: Request, res: Response) => {
      const all = await o.triggers.settings.current();
      res.json({ triggers: TRIGGER_NAMES.map((name) => view(name, all, o.config)) });
    },

    get: async (req: Request<{ name: string }>, res: Response) => {
      const name = nameOf(req);
      res.json(view(name, await o.triggers.settings.current(), o.config));
    },

    /** Changes the named settings (the rest keep theirs); shared by every instance from the next fire on. */
    update: async (req: Request<{ name: string }>, res: Response) => {
      const name = nameOf(req);
      const parsed = triggerPatchSchema(name).safeParse(req.body);
      if (!parsed.success) throw HttpError.invalidRequest(fieldsFromZod(parsed.error), `The settings of '${name}'`);
      const merged = { ...(await o.triggers.settings.current())[name], ...parsed.data };
      const problems: FieldProblem[] = [];
      const compiled = o.templates.templates.get(merged.template);
      if (!compiled) problems.push({ path: 'template', message: `Unknown template '${merged.template}'. Known templates: ${[...o.templates.templates.keys()].join(', ')}.` });
      else if (!merged.channels.some((c) => compiled.manifest.channels.includes(c))) {
        problems.push({ path: 'channels', message: `template '${merged.template}' has none of these channels (has: ${compiled.manifest.channels.join(', ')})` });
      }
      if (problems.length) throw HttpError.invalidRequest(problems, `The settings of '${name}'`);
      await o.triggers.settings.change(name, parsed.data, o.store.now());
      res.json(view(name, await o.triggers.settings.current(), o.config));
    },

    runs: async (req: Request<{ name: string }>, res: Response) => {
      const name = nameOf(req);
      const raw = req.query.limit;
      const limit = raw === undefined ? 20 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw HttpError.invalidRequest([{ path: 'limit', message: 'limit is a whole number from 1 to 200' }], 'The query');
      res.json({ trigger: name, runs: await triggerRuns(o.store.db, o.triggers.fires, name, limit) });
    },
  };
}
