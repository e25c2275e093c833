import { createHash } from 'node:crypto';
import type { TemplateSet } from '../../templates/template-registry.ts';
import { approvedContentRoot, renderApprovedContent, type WhatsAppPreview } from '../../render/whatsapp/render-whatsapp.ts';
import { WHATSAPP_LIMITS } from '../../templates/whatsapp-limits.ts';

/**
 * A Twilio Content API definition in the API's own JSON shape (POST /v1/Content:
 * `friendly_name`, `language`, `variables`, `types` keyed by content type), plus what
 * inboxcart needs to record it.
 */
export interface ContentDefinition {
  /** The content key renders ask for: `session:quick-reply:2`, `template:<name>:<locale>`. */
  key: string;
  friendly_name: string;
  language: string;
  /** Sample values for every `{{n}}`; WhatsApp reviewers read them for approved templates. */
  variables: Record<string, string>;
  types: Record<string, unknown>;
  /**
   * Present for templates sent outside the 24-hour window: submitted for WhatsApp approval
   * under `approvalName()`, which changes with the content (an approved template's text is
   * fixed, so changed text is a new template).
   */
  approval?: { category: 'MARKETING' | 'UTILITY' };
  /** Problems WhatsApp's review is known to reject, to fix before submitting. */
  warnings: string[];
}

/**
 * Session shapes Twilio can send without approval inside the window (facts §3): quick-reply
 * with 1–3 buttons and list-picker with 1–10 rows. Every field is a numbered variable, in the
 * order `sessionShape()` fills them, so these thirteen definitions serve every template and
 * every conversation step. Text and media need none: they go as Body/MediaUrl.
 */
export function sessionDefinitions(): ContentDefinition[] {
  const out: ContentDefinition[] = [];
  for (let n = 1; n <= WHATSAPP_LIMITS.sessionQuickReplies; n++) {
    const variables: Record<string, string> = { '1': 'Which one would you like?' };
    const actions = Array.from({ length: n }, (_, i) => {
      variables[String(2 + i * 2)] = `option_${i + 1}`;
      variables[String(3 + i * 2)] = `Option ${i + 1}`;
      return { type: 'QUICK_REPLY', id: `{{${2 + i * 2}}}`, title: `{{${3 + i * 2}}}` };
    });
    out.push({
      key: `session:quick-reply:${n}`,
      friendly_name: `inboxcart_session_quick_reply_${n}`,
      language: 'en',
      variables,
      types: { 'twilio/quick-reply': { body: '{{1}}', actions } },
      warnings: [],
    });
  }
  for (let n = 1; n <= WHATSAPP_LIMITS.listItems; n++) {
    const variables: Record<string, string> = { '1': 'Pick one from the list.', '2': 'Choose' };
    const items = Array.from({ length: n }, (_, i) => {
      const at = 3 + i * 3;
      variables[String(at)] = `item_${i + 1}`;
      variables[String(at + 1)] = `Item ${i + 1}`;
      variables[String(at + 2)] = `About item ${i + 1}`;
      return { id: `{{${at}}}`, item: `{{${at + 1}}}`, description: `{{${at + 2}}}` };
    });
    out.push({
      key: `session:list-picker:${n}`,
      friendly_name: `inboxcart_session_list_picker_${n}`,
      language: 'en',
      variables,
      types: { 'twilio/list-picker': { body: '{{1}}', button: '{{2}}', items } },
      warnings: [],
    });
  }
  return out;
}

/**
 * One definition per approved template and locale, with that locale's strings and Twilio's
 * `{{n}}` variables. `samples` supplies example values (from a fixture render); without them
 * each variable gets a neutral placeholder.
 */
export function approvedDefinitions(
  templates: TemplateSet,
  locales: readonly string[],
  samples: (template: string, locale: string) => Record<string, string> | undefined,
): ContentDefinition[] {
  const out: ContentDefinition[] = [];
  const english = templates.shared.locales.get('en') ?? new Map<string, string>();
  for (const [name, compiled] of templates.templates) {
    const wa = compiled.whatsapp;
    if (!wa) continue;
    for (const locale of locales) {
      const strings = templates.shared.locales.get(locale);
      if (!strings) continue;
      const root = approvedContentRoot(name, locale, { brand: templates.shared.brand, strings, fallbackStrings: english });
      const preview = renderApprovedContent(name, wa, root);
      const variableNames = [...wa.approved.variables.keys()].sort((a, b) => Number(a) - Number(b));
      const given = samples(name, locale) ?? {};
      const variables = Object.fromEntries(variableNames.map((k) => [k, given[k]?.trim() || `sample ${k}`]));
      const definition: ContentDefinition = {
        key: `template:${wa.approved.name}:${locale}`,
        friendly_name: `${wa.approved.name}_${locale}`,
        language: locale,
        variables,
        types: contentTypes(preview),
        approval: { category: wa.approved.category },
        warnings: [...root.warnings, ...approvalProblems(preview.body)],
      };
      out.push(definition);
    }
  }
  return out;
}

/** The Content API `types` object for rendered content (Twilio's field names, facts §3). */
export function contentTypes(preview: WhatsAppPreview): Record<string, unknown> {
  const actions = preview.buttons?.map((b) =>
    b.type === 'QUICK_REPLY' ? { type: 'QUICK_REPLY', id: b.id ?? b.title, title: b.title } : { type: b.type, title: b.title, ...(b.url ? { url: b.url } : {}) },
  );
  switch (preview.type) {
    case 'twilio/quick-reply':
      return { 'twilio/quick-reply': { body: preview.body, actions } };
    case 'twilio/card':
      return {
        'twilio/card': {
          title: preview.title || preview.body,
          ...(preview.subtitle ? { subtitle: preview.subtitle } : {}),
          ...(preview.media?.length ? { media: preview.media } : {}),
          ...(actions?.length ? { actions } : {}),
        },
      };
    case 'twilio/media':
      return { 'twilio/media': { body: preview.body, media: preview.media ?? [] } };
    default:
      return { 'twilio/text': { body: preview.body } };
  }
}

/**
 * Twilio's quick-reply doc: a body that starts or ends with a variable, or has two variables
 * next to each other, "won't be approved by WhatsApp"
 * (https://www.twilio.com/docs/content-api/twilio-quick-reply).
 */
export function approvalProblems(body: string): string[] {
  const problems: string[] = [];
  const trimmed = body.trim();
  if (/^\{\{\d+\}\}/.test(trimmed)) problems.push('the body starts with a variable; WhatsApp rejects such templates');
  if (/\{\{\d+\}\}[.!?]?$/.test(trimmed)) problems.push('the body ends with a variable; WhatsApp rejects such templates');
  if (/\{\{\d+\}\}\s*\{\{\d+\}\}/.test(trimmed)) problems.push('two variables stand next to each other; WhatsApp rejects such templates');
  return problems;
}

/** Stable hash of what Twilio would receive, to skip definitions that did not change. */
export function definitionFingerprint(d: ContentDefinition): string {
  const canonical = JSON.stringify({ n: d.friendly_name, l: d.language, t: sortKeys(d.types), a: d.approval?.category ?? null });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** The WhatsApp template name: lowercase, digits and underscores, unique per content version. */
export function approvalName(d: ContentDefinition): string {
  return `${d.friendly_name}_${definitionFingerprint(d).slice(0, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** `value` with object keys in sorted order at every depth: one JSON text per value, for hashing. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}
