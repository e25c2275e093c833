import Handlebars from 'handlebars';
import { channelView, listHasMarks, type RenderView, type ViewBase } from '../build-view.ts';
import { cohortKey, inertValue, MARK, type CohortCache, type CohortEntry, type MarkerValues } from '../cohort-cache.ts';
import type { RenderPlan } from './validate-request.ts';

/**
 * What the email parts are rendered from: the recipient's own view, or the cohort's view with
 * the per-recipient values as markers (cohort-cache.ts) and those values for filling in. Both
 * carry the recipient's unsubscribe token ('' without a signer) for the List-Unsubscribe header.
 */
export type EmailView =
  | { kind: 'full'; view: RenderView; unsubscribe: string }
  | { kind: 'cohort'; key: string; cached: CohortEntry | undefined; view: RenderView; raw: MarkerValues; escaped: MarkerValues; inert: boolean; unsubscribe: string };

/**
 * Step 3 (email): the view the parts are rendered from. A cohort view when the caller shares
 * renders (`cohorts`, and a text part of its own — a derived one is wrapped by width, which a
 * marker would change), the cache's gate says looking up pays (hit-rate-gate.ts), this
 * recipient's values can be shared safely, and the cohort is cached or worth keeping; otherwise
 * the recipient's own. Which view is taken never changes the output.
 */
export function emailView(plan: RenderPlan, base: ViewBase, cohorts: CohortCache | undefined): EmailView {
  if (cohorts) {
    if (!cohorts.gate.tries()) cohorts.stats.skipped++;
    else {
      const cohort = cohortView(plan, base);
      if (!cohort) cohorts.stats.bypassed++;
      else {
        const cached = cohorts.get(cohort.key);
        // A miss the gate does not keep renders in full, as without the cache.
        if (cached || cohorts.gate.admit(cohort.key)) return { ...cohort, cached };
      }
    }
  }
  const { view, unsubscribe } = channelView(base, { channel: 'email' }, plan.viewDeps);
  return { kind: 'full', view, unsubscribe };
}

/**
 * Undefined when this view cannot be shared safely: a value that a part would transform
 * differently in place (runs of white space collapse in the subject) or data that already
 * contains the marker character.
 */
function cohortView(plan: RenderPlan, base: ViewBase): Omit<Extract<EmailView, { kind: 'cohort' }>, 'cached'> | undefined {
  const profile = base.input.profile;
  const firstName = profile.firstName?.trim() || undefined;
  if (firstName !== undefined && (/\s\s|[\r\n\t]/.test(firstName) || firstName.includes(MARK))) return undefined;
  if (profile.id.includes(MARK) || base.input.messageId.includes(MARK)) return undefined;
  const { view, token, unsubscribe } = channelView(base, { channel: 'email', markers: true }, plan.viewDeps);
  if (listHasMarks(view.products)) return undefined;
  // The AMP URLs with the token marker are interned (no data in them), so the key shows name and ids.
  const key = cohortKey(plan.compiled.hash, view, (firstName === undefined ? 0 : 1) + 2);
  if (key === undefined) return undefined;
  const raw: MarkerValues = { n: firstName ?? '', p: profile.id, m: base.input.messageId, t: token, u: unsubscribe };
  const esc = Handlebars.Utils.escapeExpression;
  // An absent name or token has no marker, so its empty value is never filled in.
  const inert =
    (raw.n === '' || inertValue(raw.n)) && inertValue(raw.p) && inertValue(raw.m) && (raw.t === '' || inertValue(raw.t)) && (raw.u === '' || inertValue(raw.u));
  return { kind: 'cohort', key, view, raw, escaped: { n: esc(raw.n), p: esc(raw.p), m: esc(raw.m), t: esc(raw.t), u: esc(raw.u) }, inert, unsubscribe };
}
