import { CELL, FIELD, ROW, type CompiledMessage, type CompiledWhatsApp } from '../../templates/compile-template.ts';
import type { RenderView } from '../build-view.ts';
import type { HelperRoot } from '../../templates/handlebars-env.ts';
import { templateVariable } from '../../shared/plain-text.ts';
import { truncate } from '../../templates/handlebars-env.ts';
import { charLength, WHATSAPP_LIMITS, WhatsAppLimitError } from '../../templates/whatsapp-limits.ts';

/** The parameters of twilio `client.messages.create` that a render decides (To/From are filled by the sender). */
export interface MessageCreateParams {
  to: string;
  body?: string;
  mediaUrl?: string[];
  contentSid?: string;
  contentVariables?: string;
}

export interface WhatsAppPreview {
  type: string;
  body: string;
  title?: string;
  subtitle?: string;
  media?: string[];
  buttons?: { id?: string; title: string; type: string; url?: string }[];
  list?: { button: string; items: { id: string; item: string; description?: string }[] };
}

export type WhatsAppRender =
  | {
      suppressed: false;
      window: 'open' | 'closed';
      kind: 'session' | 'template';
      /** The Content API definition key this message needs (see `inboxcart twilio sync`). */
      contentKey?: string;
      message: MessageCreateParams;
      preview: WhatsAppPreview;
    }
  | { suppressed: true; reason: 'no_consent' | 'opted_out' | 'no_phone'; window: 'open' | 'closed' };

export interface WhatsAppDeps {
  now: Date;
  /** Content SIDs recorded by `inboxcart twilio sync`, by content key. */
  contentSid: (key: string) => string | undefined;
  optedOut: boolean;
}

const WINDOW_MS = 24 * 3_600_000;

/** The later of two last-inbound times (the profile's and the one webhooks stored): either opens the window. */
export function latestInbound(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

export function whatsappWindow(lastInboundAt: string | undefined, now: Date): 'open' | 'closed' {
  if (!lastInboundAt) return 'closed';
  const age = now.getTime() - Date.parse(lastInboundAt);
  return age >= 0 && age < WINDOW_MS ? 'open' : 'closed';
}

function renderContent(template: string, m: CompiledMessage, data: unknown, warnings: string[], forTemplate: boolean): WhatsAppPreview {
  const parts = m.all(data).split(FIELD);
  const hasList = Boolean(m.button && m.item && m.itemsFrom);
  // A separator inside data (a control character in a SKU, say) would shift the fields: then
  // each field renders on its own, as the combined pass would have.
  if (parts.length !== m.fields.length + (hasList ? 1 : 0)) return renderContentFieldByField(template, m, data, warnings, forTemplate);
  const field = new Map(m.fields.map((name, i) => [name, parts[i]!.trim()]));
  const body = field.get('body')!;
  const preview: WhatsAppPreview = { type: m.type, body };
  if (m.title) preview.title = field.get('title');
  if (m.subtitle) preview.subtitle = truncateWarn(field.get('subtitle')!, WHATSAPP_LIMITS.cardSubtitle, 'card subtitle', warnings);
  if (m.media) preview.media = m.media.map((_, i) => field.get(`media.${i}`)!).filter(Boolean);
  if (m.actions) {
    preview.buttons = m.actions.map((a, i) => {
      const title = field.get(`actions.${i}.title`)!;
      if (charLength(title) > WHATSAPP_LIMITS.buttonTitle) throw new WhatsAppLimitError(template, `button '${title}'`, WHATSAPP_LIMITS.buttonTitle, charLength(title));
      const id = a.id ? field.get(`actions.${i}.id`) : undefined;
      if (id && id.length > WHATSAPP_LIMITS.buttonId) throw new WhatsAppLimitError(template, `button id of '${title}'`, WHATSAPP_LIMITS.buttonId, id.length);
      return { type: a.type, title, id, url: a.url ? field.get(`actions.${i}.url`) : undefined };
    });
  }
  if (hasList) {
    const rows = parts[parts.length - 1]!.split(ROW).slice(0, -1);
    if (rows.length > WHATSAPP_LIMITS.listItems) warnings.push(`list-picker shows the first ${WHATSAPP_LIMITS.listItems} of ${rows.length} items`);
    preview.list = {
      button: field.get('button')!,
      items: rows.slice(0, WHATSAPP_LIMITS.listItems).map((row) => {
        const [id = '', item = '', description = ''] = row.split(CELL);
        return {
          id: id.trim(),
          item: truncateWarn(item.trim(), WHATSAPP_LIMITS.listItemTitle, 'list item', warnings),
          description: m.item!.description ? truncateWarn(description.trim(), WHATSAPP_LIMITS.listItemDescription, 'list description', warnings) : undefined,
        };
      }),
    };
    if (charLength(preview.list.button) > WHATSAPP_LIMITS.listButton) throw new WhatsAppLimitError(template, 'list button', WHATSAPP_LIMITS.listButton, charLength(preview.list.button));
  }
  const max = m.type === 'twilio/text' || m.type === 'twilio/media' ? WHATSAPP_LIMITS.textBody : WHATSAPP_LIMITS.richBody;
  if (!forTemplate && charLength(body) > max) throw new WhatsAppLimitError(template, 'body', max, charLength(body));
  return preview;
}

function renderContentFieldByField(template: string, m: CompiledMessage, data: unknown, warnings: string[], forTemplate: boolean): WhatsAppPreview {
  const body = m.body(data).trim();
  const preview: WhatsAppPreview = { type: m.type, body };
  if (m.title) preview.title = m.title(data).trim();
  if (m.subtitle) preview.subtitle = truncateWarn(m.subtitle(data).trim(), WHATSAPP_LIMITS.cardSubtitle, 'card subtitle', warnings);
  if (m.media) preview.media = m.media.map((f) => f(data).trim()).filter(Boolean);
  if (m.actions) {
    preview.buttons = m.actions.map((a) => {
      const title = a.title(data).trim();
      if (charLength(title) > WHATSAPP_LIMITS.buttonTitle) throw new WhatsAppLimitError(template, `button '${title}'`, WHATSAPP_LIMITS.buttonTitle, charLength(title));
      const id = a.id?.(data).trim();
      if (id && id.length > WHATSAPP_LIMITS.buttonId) throw new WhatsAppLimitError(template, `button id of '${title}'`, WHATSAPP_LIMITS.buttonId, id.length);
      return { type: a.type, title, id, url: a.url?.(data).trim() };
    });
  }
  if (m.button && m.item && m.itemsFrom) {
    const source = lookup(data, m.itemsFrom);
    const rows = Array.isArray(source) ? source.slice(0, WHATSAPP_LIMITS.listItems) : [];
    if (Array.isArray(source) && source.length > WHATSAPP_LIMITS.listItems) warnings.push(`list-picker shows the first ${WHATSAPP_LIMITS.listItems} of ${source.length} items`);
    // Each row renders with the row as context and the view as @root (what helpers read).
    const options = { data: { root: data } };
    preview.list = {
      button: m.button(data).trim(),
      items: rows.map((row: unknown) => ({
        id: m.item!.id(row, options).trim(),
        item: truncateWarn(m.item!.item(row, options).trim(), WHATSAPP_LIMITS.listItemTitle, 'list item', warnings),
        description: m.item!.description
          ? truncateWarn(m.item!.description(row, options).trim(), WHATSAPP_LIMITS.listItemDescription, 'list description', warnings)
          : undefined,
      })),
    };
    if (charLength(preview.list.button) > WHATSAPP_LIMITS.listButton) throw new WhatsAppLimitError(template, 'list button', WHATSAPP_LIMITS.listButton, charLength(preview.list.button));
  }
  const max = m.type === 'twilio/text' || m.type === 'twilio/media' ? WHATSAPP_LIMITS.textBody : WHATSAPP_LIMITS.richBody;
  if (!forTemplate && charLength(body) > max) throw new WhatsAppLimitError(template, 'body', max, charLength(body));
  return preview;
}

function truncateWarn(text: string, max: number, what: string, warnings: string[]): string {
  if (charLength(text) <= max) return text;
  warnings.push(`${what} shortened to WhatsApp's ${max} characters`);
  return truncate(text, max);
}

function lookup(data: unknown, path: string): unknown {
  let v: unknown = data;
  for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/**
 * Session content is sent through generic Content API definitions whose every field is a
 * variable, one definition per shape (type, number of buttons or rows). Twilio sends rich
 * WhatsApp messages only via contentSid, and session content needs no approval, so a handful
 * of shapes serve every template.
 */
export function sessionShape(preview: WhatsAppPreview): { key: string; values: string[] } {
  const vars: string[] = [];
  const v = (s: string | undefined) => {
    vars.push(s ?? '');
  };
  v(preview.body);
  switch (preview.type) {
    case 'twilio/quick-reply':
      for (const b of preview.buttons ?? []) {
        v(b.id);
        v(b.title);
      }
      return { key: `session:quick-reply:${preview.buttons?.length ?? 0}`, values: vars };
    case 'twilio/list-picker':
      v(preview.list?.button);
      for (const r of preview.list?.items ?? []) {
        v(r.id);
        v(r.item);
        v(r.description);
      }
      return { key: `session:list-picker:${preview.list?.items.length ?? 0}`, values: vars };
    case 'twilio/card':
      v(preview.title);
      v(preview.subtitle);
      v(preview.media?.[0]);
      for (const b of preview.buttons ?? []) {
        v(b.title);
        v(b.id ?? b.url);
      }
      return { key: `session:card:${preview.media?.length ? 'media' : 'text'}:${(preview.buttons ?? []).map((b) => b.type).join('-')}`, values: vars };
    default:
      return { key: `session:${preview.type.replace('twilio/', '')}`, values: vars };
  }
}

/**
 * Twilio's `contentVariables` for values numbered from 1: `{"1":…,"2":…}`, as `JSON.stringify`
 * writes such an object. Written out directly: integer-like keys put an object on V8's slow
 * paths (for building and for serialising), and this runs per recipient.
 */
export function numberedJson(values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) out += `${i === 0 ? '{' : ','}"${i + 1}":${JSON.stringify(values[i])}`;
  return out ? `${out}}` : '{}';
}

/**
 * The Twilio parameters for a session message (inside the 24-hour window). Text and media go
 * as Body/MediaUrl; rich content only through its generic Content definition, since
 * `messages.create` silently drops anything else (facts §3). Until `inboxcart twilio sync` has
 * recorded that definition the content goes out as numbered plain text, which the
 * conversation engine also understands ("2").
 */
export function sessionMessage(
  to: string,
  preview: WhatsAppPreview,
  contentSid: (key: string) => string | undefined,
  warnings: string[],
): { message: MessageCreateParams; contentKey?: string } {
  if (preview.type === 'twilio/text') return { message: { to, body: preview.body } };
  if (preview.type === 'twilio/media') return { message: { to, body: preview.body, mediaUrl: preview.media } };
  const shape = sessionShape(preview);
  const sid = contentSid(shape.key);
  if (!sid) {
    warnings.push(`WhatsApp content '${shape.key}' is not synced (run: npx inboxcart twilio sync); sent as plain text`);
    return { message: { to, body: asText(preview) }, contentKey: shape.key };
  }
  return { message: { to, contentSid: sid, contentVariables: numberedJson(shape.values) }, contentKey: shape.key };
}

/**
 * The approved template's content for one locale as WhatsApp reviews it: locale strings filled
 * in, Twilio's numbered `{{1}}` variables kept. Only strings may shape it (the content is fixed
 * at approval), so it renders against the strings alone, not a recipient's view.
 */
export function renderApprovedContent(template: string, wa: CompiledWhatsApp, root: HelperRoot): WhatsAppPreview {
  return renderContent(template, wa.approved.content, root, root.warnings, true);
}

/**
 * An approved content string cut at Twilio's `{{n}}` placeholders: literal segments around
 * slots that index the message's variable values. A placeholder with no such variable stays in
 * the text as it is. Worked out once per template and locale (the content is fixed at approval).
 */
interface NumberedFill {
  segments: string[];
  slots: number[];
}

function numberedFill(s: string, keys: readonly string[]): NumberedFill {
  const split = s.split(/\{\{(\d+)\}\}/);
  // Odd indexes hold the placeholder numbers.
  const segments = [split[0]!];
  const slots: number[] = [];
  for (let i = 1; i < split.length; i += 2) {
    const slot = keys.indexOf(split[i]!);
    if (slot < 0) segments[segments.length - 1] += `{{${split[i]}}}${split[i + 1]!}`;
    else {
      slots.push(slot);
      segments.push(split[i + 1]!);
    }
  }
  return { segments, slots };
}

function fillNumbered(fill: NumberedFill, values: readonly string[]): string {
  let out = fill.segments[0]!;
  for (let i = 0; i < fill.slots.length; i++) out += values[fill.slots[i]!]! + fill.segments[i + 1]!;
  return out;
}

/** What the approved content renders against: the strings of one locale, nothing of a recipient. */
export function approvedContentRoot(template: string, locale: string, from: Pick<HelperRoot, 'brand' | 'strings' | 'fallbackStrings'>): HelperRoot {
  return {
    locale,
    intlLocale: locale,
    currency: 'EUR',
    timezone: 'UTC',
    brand: from.brand,
    campaignParams: { source: 'inboxcart', medium: 'whatsapp', campaign: template, content: template },
    strings: from.strings,
    fallbackStrings: from.fallbackStrings,
    warnings: [],
  };
}

/**
 * The approved content per compiled template and locale, rendered once: it is the same for
 * every recipient (the definition `inboxcart twilio sync` submitted), only the variables differ.
 * Beside it, each of its strings cut at the placeholders, and the JSON key of each variable in
 * the order `JSON.stringify` writes them (integer-like keys ascending, then the rest as given).
 */
interface ApprovedEntry {
  content: WhatsAppPreview;
  warnings: string[];
  body: NumberedFill;
  title?: NumberedFill;
  subtitle?: NumberedFill;
  media?: NumberedFill[];
  buttons?: { type: string; title: NumberedFill; id?: NumberedFill; url?: NumberedFill }[];
  /** `"1":` … with the index of the value each key takes. */
  json: { prefix: string; slot: number }[];
}

const approvedContents = new WeakMap<CompiledWhatsApp, Map<string, ApprovedEntry>>();

function approvedContentFor(template: string, wa: CompiledWhatsApp, view: RenderView): ApprovedEntry {
  let byLocale = approvedContents.get(wa);
  if (!byLocale) {
    byLocale = new Map();
    approvedContents.set(wa, byLocale);
  }
  let entry = byLocale.get(view.locale);
  if (!entry) {
    const root = approvedContentRoot(template, view.locale, view);
    const content = renderApprovedContent(template, wa, root);
    const keys = wa.approved.variableKeys;
    const plan = (text: string) => numberedFill(text, keys);
    const order = Object.keys(Object.fromEntries(keys.map((k, i) => [k, i])));
    entry = {
      content,
      warnings: root.warnings,
      body: plan(content.body),
      title: content.title === undefined ? undefined : plan(content.title),
      subtitle: content.subtitle === undefined ? undefined : plan(content.subtitle),
      media: content.media?.map(plan),
      buttons: content.buttons?.map((b) => ({ type: b.type, title: plan(b.title), id: b.id === undefined ? undefined : plan(b.id), url: b.url === undefined ? undefined : plan(b.url) })),
      json: order.map((k, i) => ({ prefix: `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`, slot: keys.indexOf(k) })),
    };
    byLocale.set(view.locale, entry);
  }
  return entry;
}

/** The approved content filled in with one recipient's values, keys in the order of the content. */
function filledPreview(entry: ApprovedEntry, values: readonly string[]): WhatsAppPreview {
  const content = entry.content;
  const preview: WhatsAppPreview = { type: content.type, body: fillNumbered(entry.body, values) };
  if (entry.title) preview.title = fillNumbered(entry.title, values);
  if (entry.subtitle) preview.subtitle = fillNumbered(entry.subtitle, values);
  if (entry.media) preview.media = entry.media.map((m) => fillNumbered(m, values));
  if (entry.buttons) {
    preview.buttons = entry.buttons.map((b) => ({
      type: b.type,
      title: fillNumbered(b.title, values),
      id: b.id && fillNumbered(b.id, values),
      url: b.url && fillNumbered(b.url, values),
    }));
  }
  if (content.list) preview.list = content.list;
  return preview;
}

/** Twilio's `contentVariables` for the values of an approved template, keys from its entry. */
function approvedVariablesJson(entry: ApprovedEntry, values: readonly string[]): string {
  let out = '';
  for (const { prefix, slot } of entry.json) out += prefix + JSON.stringify(values[slot]);
  return out ? `${out}}` : '{}';
}

/** Plain-text rendering of rich content for when its Content definition is not synced yet. */
function asText(preview: WhatsAppPreview): string {
  const lines = [preview.body];
  preview.buttons?.forEach((b, i) => lines.push(`${i + 1}. ${b.title}${b.url ? ` ${b.url}` : ''}`));
  preview.list?.items.forEach((r, i) => lines.push(`${i + 1}. ${r.item}${r.description ? ` — ${r.description}` : ''}`));
  return lines.join('\n');
}

export type WhatsAppPlan = Extract<WhatsAppRender, { suppressed: true }> | { suppressed: false; window: 'open' | 'closed'; kind: 'session' | 'template' };

/**
 * Whether a WhatsApp message goes out and which kind, decided before any view is built: a
 * suppressed message costs nothing, and a sent one signs only what its kind shows.
 */
export function planWhatsApp(
  category: 'marketing' | 'transactional',
  profile: { phone?: string; consent: { whatsapp: boolean }; whatsapp?: { lastInboundAt?: string } },
  deps: Pick<WhatsAppDeps, 'now' | 'optedOut'>,
): WhatsAppPlan {
  const window = whatsappWindow(profile.whatsapp?.lastInboundAt, deps.now);
  if (!profile.phone) return { suppressed: true, reason: 'no_phone', window };
  if (deps.optedOut) return { suppressed: true, reason: 'opted_out', window };
  if (category === 'marketing' && !profile.consent.whatsapp) return { suppressed: true, reason: 'no_consent', window };
  return { suppressed: false, window, kind: window === 'open' ? 'session' : 'template' };
}

/**
 * Renders the WhatsApp part: inside the 24-hour customer-service window a session message,
 * outside it the approved template (contentSid + contentVariables). Consent and opt-outs
 * suppress marketing messages entirely.
 */
export function renderWhatsApp(
  template: string,
  category: 'marketing' | 'transactional',
  wa: CompiledWhatsApp,
  view: RenderView,
  profile: { phone?: string; consent: { whatsapp: boolean }; whatsapp?: { lastInboundAt?: string } },
  locale: string,
  deps: WhatsAppDeps,
): WhatsAppRender {
  const plan = planWhatsApp(category, profile, deps);
  if (plan.suppressed) return plan;
  const window = plan.window;

  // buildView made the data strings plain for the whatsapp channel.
  const data = view;
  const to = `whatsapp:${profile.phone}`;

  if (window === 'open') {
    const preview = renderContent(template, wa.session, data, view.warnings, false);
    const { message, contentKey } = sessionMessage(to, preview, deps.contentSid, view.warnings);
    return { suppressed: false, window, kind: 'session', ...(contentKey ? { contentKey } : {}), message, preview };
  }

  const keys = wa.approved.variableKeys;
  let values = wa.approved.variablesAll(data).split(FIELD);
  if (values.length === keys.length) {
    for (let i = 0; i < values.length; i++) values[i] = templateVariable(values[i]!);
  } else {
    values = keys.map((k) => templateVariable(wa.approved.variables.get(k)!(data)));
  }
  const approved = approvedContentFor(template, wa, view);
  for (const w of approved.warnings) view.warnings.push(w);
  const preview = filledPreview(approved, values);
  if (charLength(preview.body) > WHATSAPP_LIMITS.richBody) throw new WhatsAppLimitError(template, 'approved template body', WHATSAPP_LIMITS.richBody, charLength(preview.body));
  const key = `template:${wa.approved.name}:${locale}`;
  const sid = deps.contentSid(key);
  if (!sid) view.warnings.push(`approved WhatsApp template '${key}' has no contentSid (run: npx inboxcart twilio sync)`);
  return {
    suppressed: false,
    window,
    kind: 'template',
    contentKey: key,
    message: { to, contentSid: sid, contentVariables: approvedVariablesJson(approved, values) },
    preview,
  };
}
