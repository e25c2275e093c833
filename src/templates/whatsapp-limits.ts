import { TemplateError } from './template-error.ts';
import type { WhatsAppManifest, WhatsAppMessageSpec } from './template-manifest.ts';

/**
 * WhatsApp limits as Twilio's Content API and Meta document them (see shared/facts/whatsapp.md §3, §6).
 * Where sources disagree we hold to the stricter figure.
 */
export const WHATSAPP_LIMITS = {
  /** Twilio `Body` for text and media messages. */
  textBody: 1600,
  /** Body of rich content (quick-reply, list-picker, card) and template text after substitution. */
  richBody: 1024,
  /** Reply buttons Meta shows in a session message; Twilio's older doc says 3 in session too. */
  sessionQuickReplies: 3,
  /** Quick replies in an approved template (Twilio's current doc: 1–10). */
  templateQuickReplies: 10,
  buttonTitle: 20,
  buttonId: 200,
  listItems: 10,
  listItemTitle: 24,
  listItemDescription: 72,
  listItemId: 200,
  listButton: 20,
  cardTitle: 1024,
  cardSubtitle: 60,
  cardActions: 2,
  /** Meta rejects template variables with newlines, tabs or more than 4 consecutive spaces. */
  variableLength: 1024,
} as const;

/** Checks the parts of a whatsapp.json that do not depend on data (counts, required fields, static texts). */
export function checkWhatsAppSpec(file: string, manifest: WhatsAppManifest): TemplateError[] {
  return [...checkMessage(file, 'session', manifest.session, true), ...checkMessage(file, 'approved.content', manifest.approved.content, false)];
}

function checkMessage(file: string, where: string, m: WhatsAppMessageSpec, session: boolean): TemplateError[] {
  const errors: TemplateError[] = [];
  const fail = (problem: string, fix: string) => errors.push(new TemplateError(file, undefined, `${where}: ${problem}`, fix));
  const actions = m.actions ?? [];
  const staticTooLong = (text: string | undefined, max: number) => text !== undefined && !text.includes('{{') && charLength(text) > max;

  switch (m.type) {
    case 'twilio/quick-reply': {
      const max = session ? WHATSAPP_LIMITS.sessionQuickReplies : WHATSAPP_LIMITS.templateQuickReplies;
      if (actions.length < 1 || actions.length > max) {
        fail(`quick-reply has ${actions.length} buttons; WhatsApp allows 1–${max} ${session ? 'in a session message' : 'in a template'}.`, 'remove buttons or use a list-picker.');
      }
      for (const a of actions) {
        if (a.type !== 'QUICK_REPLY') fail(`quick-reply buttons must be QUICK_REPLY, not ${a.type}.`, 'use a card for URL or phone buttons.');
        if (!a.id) fail(`quick-reply button '${a.title}' has no id.`, 'give every button an id (it comes back as ButtonPayload).');
      }
      break;
    }
    case 'twilio/list-picker':
      if (!session) fail('a list-picker cannot be sent outside the 24-hour window (WhatsApp does not approve them).', 'use quick-reply or card for the approved template.');
      if (!m.button || !m.itemsFrom || !m.item) fail('a list-picker needs button, itemsFrom and item.', 'add them.');
      if (staticTooLong(m.button, WHATSAPP_LIMITS.listButton)) fail(`list button is longer than ${WHATSAPP_LIMITS.listButton} characters.`, 'shorten it.');
      break;
    case 'twilio/card':
      if (actions.length > WHATSAPP_LIMITS.cardActions) fail(`card has ${actions.length} buttons; at most ${WHATSAPP_LIMITS.cardActions}.`, 'remove buttons.');
      break;
    case 'twilio/media':
      if (!m.media?.length) fail('a media message needs one media URL.', 'add media: ["{{img …}}"].');
      if (actions.length) fail('a media message has no buttons.', 'use a card.');
      break;
    case 'twilio/text':
    case 'twilio/catalog':
      if (actions.length && m.type === 'twilio/text') fail('a text message has no buttons.', 'use quick-reply.');
      break;
  }
  for (const a of actions) {
    if (staticTooLong(a.title, WHATSAPP_LIMITS.buttonTitle)) fail(`button title '${a.title}' is longer than ${WHATSAPP_LIMITS.buttonTitle} characters.`, 'shorten it.');
  }
  return errors;
}

export class WhatsAppLimitError extends Error {
  constructor(readonly template: string, readonly field: string, readonly limit: number, readonly actual: number) {
    super(`${template}/whatsapp.json: ${field} renders to ${actual} characters; WhatsApp allows ${limit}.`);
    this.name = 'WhatsAppLimitError';
  }
}

/**
 * Length in code points, as WhatsApp counts characters: an emoji outside the BMP is one
 * character, not two UTF-16 units. Counted without building an array (it runs for every field
 * of every WhatsApp message).
 */
export function charLength(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}
