import { convert } from 'html-to-text';
import { unsubscribeUrl } from '../../commerce/unsubscribe-token.ts';
import type { CompiledTemplate } from '../../templates/compile-template.ts';
import { cohortEntry, fillMarkers, type CohortCache } from '../cohort-cache.ts';
import { renderPart, type FragmentCache, type FragmentScope } from '../fragment-cache.ts';
import { CohortEmail, type EmailParts, type UnsubscribeHeaders } from '../render-result.ts';
import { oneLine, tidyText } from '../tidy-text.ts';
import type { EmailView } from './email-view.ts';
import type { RenderPlan } from './validate-request.ts';

/** The compiled email parts of the message's locale (English when the template has none for it). */
export function localeParts(compiled: CompiledTemplate, locale: string): NonNullable<ReturnType<CompiledTemplate['email']['get']>> {
  return compiled.email.get(partsLocale(compiled, locale))!;
}

/** The locale whose compiled parts (and baked strings) the message uses. */
function partsLocale(compiled: CompiledTemplate, locale: string): string {
  return compiled.email.has(locale) ? locale : 'en';
}

/** The caches the parts step may render through; each keeps its key written out in its module. */
export interface PartCaches {
  /** Whole emails shared by a cohort (cohort-cache.ts); only for a cohort view. */
  cohorts?: CohortCache;
  /** Product cards shared between recipients (fragment-cache.ts); only for a full view. */
  fragments?: FragmentCache;
}

/**
 * Step 4 (email): subject, preheader, AMP, HTML and text from the view, and the unsubscribe
 * headers of a marketing email. A cohort view renders once per cohort (cohorts) and fills the
 * recipient's values into the shared parts; the result is frozen either way.
 */
export function emailParts(plan: RenderPlan, view: EmailView, caches: PartCaches, locale: string): EmailParts {
  const parts = localeParts(plan.compiled, locale);
  const v = plan.variant ? parts.variants.get(plan.variant) : undefined;
  const subjectFn = v?.subject ?? parts.subject;
  const preheaderFn = v?.preheader ?? parts.preheader;
  const headers = plan.compiled.manifest.category === 'marketing' && view.unsubscribe !== '' ? unsubscribeHeaders(plan.viewDeps.publicBaseUrl, view.unsubscribe) : undefined;

  const cohorts = caches.cohorts;
  if (view.kind === 'cohort' && cohorts) {
    const entry = cohortEntry(cohorts, view.key, view.cached, () => {
      const helperWarnings: string[] = [];
      const cv = { ...view.view, warnings: helperWarnings };
      const subject = oneLine(subjectFn(cv));
      const preheader = oneLine(preheaderFn(cv));
      const withHeader = { ...cv, subject, preheader };
      // In this order (HTML, text, AMP): helpers' warnings come out in it.
      const html = parts.html!(withHeader);
      const text = parts.text!(withHeader);
      return { subject, preheader, html, text, amp: parts.amp?.(withHeader), warnings: helperWarnings };
    });
    for (const w of entry.warnings) plan.warnings.push(w);
    const { raw, escaped, inert } = view;
    // Subject and preheader were one-lined at the cohort render; with inert values that holds.
    const email = {
      subject: inert ? fillMarkers(entry.subject, raw) : oneLine(fillMarkers(entry.subject, raw)),
      preheader: inert ? fillMarkers(entry.preheader, raw) : oneLine(fillMarkers(entry.preheader, raw)),
      amp: entry.amp ? fillMarkers(entry.amp, escaped) : undefined,
      html: fillMarkers(entry.html, escaped),
      text: inert ? fillMarkers(entry.tidyText, raw) : tidyText(fillMarkers(entry.text, raw)),
      headers,
    };
    return new CohortEmail(email, { amp: entry.amp, html: entry.html, text: inert ? entry.tidyText : undefined, escaped, raw });
  }

  const subject = oneLine(subjectFn(view.view));
  const preheader = oneLine(preheaderFn(view.view));
  // The layout shows the preheader as hidden preview text, so it joins the view before the HTML pass.
  const withHeader = { ...view.view, subject, preheader };
  const fragments = caches.fragments;
  const scope: FragmentScope | undefined = fragments && { cache: fragments, templateHash: plan.compiled.hash, locale: partsLocale(plan.compiled, locale) };
  const html = renderPart('html', parts.html!, parts.cards.html, withHeader, scope);
  const email: EmailParts = {
    subject,
    preheader,
    amp: parts.amp && renderPart('amp', parts.amp, parts.cards.amp, withHeader, scope),
    html,
    text: parts.text ? tidyText(renderPart('text', parts.text, parts.cards.text, withHeader, scope)) : htmlToText(html),
  };
  return Object.freeze(headers === undefined ? email : { ...email, headers });
}

function unsubscribeHeaders(publicBaseUrl: string, token: string): UnsubscribeHeaders {
  return { 'List-Unsubscribe': `<${unsubscribeUrl(publicBaseUrl, token)}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}

function htmlToText(html: string): string {
  return tidyText(convert(html, { wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] }));
}
