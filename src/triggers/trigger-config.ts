import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { fieldsFromZod, type FieldProblem } from '../shared/field-problems.ts';
import { recommendationsSchema } from '../personalize/recommendations-schema.ts';

export const TRIGGER_NAMES = ['price-drop', 'back-in-stock', 'abandoned-cart', 'birthday', 'win-back'] as const;
export type TriggerName = (typeof TRIGGER_NAMES)[number];

const channel = z.enum(['whatsapp', 'email']);

/** Settings every trigger has. `channels` is the order of preference (choose-channel.ts). */
const common = {
  enabled: z.boolean(),
  template: z.string().min(1).max(64),
  channels: z.array(channel).min(1).max(2).refine((c) => new Set(c).size === c.length, 'each channel once'),
  /** Picks to show beside the trigger's own product (birthday, win-back); the product triggers show theirs. */
  // Unwrapped from the render schema's default ([]): a change that leaves the picks out must keep them.
  recommendations: recommendationsSchema.shape.items.unwrap().optional(),
  offer: recommendationsSchema.shape.offer,
  /** The offer expires this many days after the trigger fired (an expiry in the file would go stale). */
  offerValidDays: z.number().int().min(1).max(365).optional(),
};

export const TRIGGER_SCHEMAS = {
  'price-drop': z
    .object({
      ...common,
      minPercent: z.number().int().min(1).max(90).describe('Fires when a market price falls at least this many percent below its recorded 30-day lowest.'),
      windowDays: z.number().int().min(1).max(90).describe('Who viewed or wishlisted the product in this many days before the drop is told.'),
    })
    .strict(),
  'back-in-stock': z
    .object({ ...common, windowDays: z.number().int().min(1).max(365).describe('Requests older than this many days are not answered.') })
    .strict(),
  'abandoned-cart': z
    .object({ ...common, maxAgeHours: z.number().int().min(1).max(24 * 30).describe('Carts left longer ago than this are not reminded of (a first start does not write to old carts).') })
    .strict(),
  birthday: z.object({ ...common, at: z.enum(['day', 'month']).describe('The start of the birthday itself, or of its month, in the customer\'s timezone.') }).strict(),
  'win-back': z.object({ ...common }).strict(),
} as const satisfies Record<TriggerName, z.ZodType>;

export type TriggerSettings = { [N in TriggerName]: z.infer<(typeof TRIGGER_SCHEMAS)[N]> };

/** On by default, for the demo: triggers.json or PUT /v1/triggers/:name turns one off. */
export const DEFAULT_TRIGGERS: TriggerSettings = {
  'price-drop': { enabled: true, template: 'price-drop', channels: ['whatsapp', 'email'], minPercent: 10, windowDays: 30 },
  'back-in-stock': { enabled: true, template: 'back-in-stock', channels: ['whatsapp', 'email'], windowDays: 60 },
  'abandoned-cart': { enabled: true, template: 'abandoned-cart', channels: ['whatsapp', 'email'], maxAgeHours: 72 },
  birthday: { enabled: true, template: 'birthday-reward', channels: ['email'], at: 'day' },
  'win-back': { enabled: true, template: 'win-back', channels: ['whatsapp', 'email'] },
};

/** A change to one trigger: any of its settings (PUT /v1/triggers/:name, or its entry in triggers.json). */
export function triggerPatchSchema(name: TriggerName) {
  return TRIGGER_SCHEMAS[name].partial();
}

export type TriggerPatch<N extends TriggerName = TriggerName> = Partial<TriggerSettings[N]>;

export class TriggersFileError extends Error {
  constructor(readonly file: string, readonly problems: FieldProblem[]) {
    super(`${file} is not a valid triggers file: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'TriggersFileError';
  }
}

const fileSchema = z.object(Object.fromEntries(TRIGGER_NAMES.map((n) => [n, triggerPatchSchema(n).optional()])) as { [N in TriggerName]: z.ZodOptional<ReturnType<typeof triggerPatchSchema>> }).strict();

/**
 * The settings of triggers.json over the defaults. A missing file is the defaults; a bad one
 * stops the start with the field named, like a bad environment variable.
 */
export function loadTriggersFile(file: string): TriggerSettings {
  if (!existsSync(file)) return DEFAULT_TRIGGERS;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TriggersFileError(file, [{ path: '(root)', message: `not JSON (${(error as Error).message})` }]);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) throw new TriggersFileError(file, fieldsFromZod(parsed.error));
  return mergeSettings(DEFAULT_TRIGGERS, parsed.data as { [N in TriggerName]?: TriggerPatch<N> });
}

/** `patches` over `base`, trigger by trigger, field by field. */
export function mergeSettings(base: TriggerSettings, patches: { [N in TriggerName]?: TriggerPatch<N> }): TriggerSettings {
  const out = { ...base } as Record<TriggerName, unknown>;
  for (const name of TRIGGER_NAMES) {
    const patch = patches[name];
    if (patch) out[name] = { ...base[name], ...patch };
  }
  return out as TriggerSettings;
}

export function isTriggerName(name: string): name is TriggerName {
  return (TRIGGER_NAMES as readonly string[]).includes(name);
}

/** A trigger as GET /v1/triggers shows it: its name, its settings and those that come from the environment. */
export const triggerViewSchema = z.union(
  TRIGGER_NAMES.map((name) =>
    TRIGGER_SCHEMAS[name].extend({
      name: z.literal(name),
      cartAbandonHours: z.number().int().optional().describe('abandoned-cart: CART_ABANDON_HOURS, hours a cart is left before its reminder.'),
      atRiskDays: z.number().int().optional().describe('win-back: SEGMENT_AT_RISK_DAYS, days without an order that make a lapse.'),
    }),
  ) as unknown as readonly [z.ZodType, z.ZodType, ...z.ZodType[]],
);

export const triggerListSchema = z.object({ triggers: z.array(triggerViewSchema) });

/** PUT /v1/triggers/:name: the settings of that trigger to change, any of them. */
export const triggerPatchRequestSchema = z.union(TRIGGER_NAMES.map((name) => triggerPatchSchema(name)) as unknown as readonly [z.ZodType, z.ZodType, ...z.ZodType[]]);
