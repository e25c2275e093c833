import type { Request, Response } from 'express';
import { z } from 'zod';
import { templateRequestSchema } from '../../render/render-input.ts';
import type { TemplateManifest } from '../../templates/template-manifest.ts';
import type { TemplateSet } from '../../templates/template-registry.ts';
import { HttpError } from '../http-error.ts';

function summary(m: TemplateManifest) {
  return {
    name: m.name,
    description: m.description,
    channels: m.channels,
    variants: m.variants.map((v) => ({ id: v.id, weight: v.weight })),
    category: m.category,
  };
}

/**
 * GET /v1/templates and /v1/templates/:name. Templates are compiled at start, so both answers
 * (including each template's JSON Schema) are built once here and served as they are.
 */
export function templateRoutes(templates: TemplateSet) {
  const manifests = [...templates.templates.values()].map((t) => t.manifest).sort((a, b) => a.name.localeCompare(b.name));
  const list = { templates: manifests.map(summary) };
  const details = new Map(
    manifests.map((m) => {
      const { $schema: _dialect, ...data } = z.toJSONSchema(templateRequestSchema(m), { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
      return [m.name, { ...summary(m), data: { $schema: 'https://json-schema.org/draft/2020-12/schema', ...data } }];
    }),
  );
  const names = manifests.map((m) => m.name).join(', ') || '(none)';

  return {
    list: (_req: Request, res: Response) => {
      res.json(list);
    },
    get: (req: Request<{ name: string }>, res: Response) => {
      const detail = details.get(req.params.name);
      if (!detail) {
        throw new HttpError(404, 'unknown_template', `No template '${req.params.name}'. Known templates: ${names}.`);
      }
      res.json(detail);
    },
  };
}
