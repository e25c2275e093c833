import { validateAmpEmail } from '../channels/email/amp-validator.ts';
import { approvedDefinitions } from '../channels/whatsapp/content-definitions.ts';
import { renderRequestSchema } from '../render/render-input.ts';
import { renderMessage, type RenderDeps } from '../render/render-message.ts';
import { sampleRequest, type Fixtures } from './template-fixtures.ts';
import type { SharedSources } from '../templates/read-template-sources.ts';
import type { TemplateSet } from '../templates/template-registry.ts';

/** Budgets from shared/facts/amp-email.md §1.3. */
export const BUDGETS = {
  /** The spec allows 200,000 bytes, but Gmail and the big senders hold AMP parts to 100 KB. */
  ampBytes: 100_000,
  /** Gmail clips HTML at about 102 KB. */
  htmlBytes: 102_000,
  /** validator-css.protoascii: max_bytes 75000 for <style amp-custom>. */
  ampCssBytes: 75_000,
} as const;

export interface ValidationProblem {
  template: string;
  profile?: string;
  locale?: string;
  /** Where to look: a template file and line when we can tell, else the part. */
  where: string;
  message: string;
}

export interface ValidationReport {
  checked: number;
  problems: ValidationProblem[];
}

export interface PartSizes {
  amp?: number;
  html: number;
  ampCss?: number;
  text: number;
}

export function partSizes(email: { amp?: string; html: string; text: string }): PartSizes {
  const css = email.amp ? /<style amp-custom>([\s\S]*?)<\/style>/.exec(email.amp)?.[1] ?? '' : undefined;
  return {
    amp: email.amp === undefined ? undefined : Buffer.byteLength(email.amp),
    html: Buffer.byteLength(email.html),
    ampCss: css === undefined ? undefined : Buffer.byteLength(css),
    text: Buffer.byteLength(email.text),
  };
}

export function budgetProblems(sizes: PartSizes): string[] {
  const out: string[] = [];
  if (sizes.amp !== undefined && sizes.amp > BUDGETS.ampBytes) out.push(`AMP part is ${sizes.amp} bytes; keep it under ${BUDGETS.ampBytes} (Gmail falls back to HTML above ~100 KB).`);
  if (sizes.html > BUDGETS.htmlBytes) out.push(`HTML part is ${sizes.html} bytes; Gmail clips above ${BUDGETS.htmlBytes}.`);
  if (sizes.ampCss !== undefined && sizes.ampCss > BUDGETS.ampCssBytes) out.push(`<style amp-custom> is ${sizes.ampCss} bytes; AMP allows ${BUDGETS.ampCssBytes}.`);
  return out;
}

/**
 * Finds the template file line that produced a line of the rendered AMP document, by the first
 * tag on that line. Good enough to point a designer at the right place; the rendered line and
 * column are reported too.
 */
export function locateAmpLine(renderedLine: string, templateName: string, ampSource: string | undefined, shared: SharedSources): string | undefined {
  const tag = /<[a-z][\w-]*(\s+[\w-]+(="[^"{]*")?)?/.exec(renderedLine.trim())?.[0];
  if (!tag) return undefined;
  const files = [
    ...(ampSource ? [{ path: `${templateName}/email.amp.hbs`, text: ampSource }] : []),
    ...[...shared.hbsPartials.values()],
  ];
  for (const f of files) {
    const lines = f.text.split('\n');
    const i = lines.findIndex((l) => l.includes(tag));
    if (i >= 0) return `${f.path}:${i + 1}`;
  }
  return undefined;
}

/**
 * Validates every template × fixture profile × locale: data schema, render, official AMP
 * validator verdict, MJML warnings and size budgets. Used by `inboxcart validate` (strict)
 * and by tests.
 */
export async function validateTemplates(
  set: TemplateSet,
  fixtures: Fixtures,
  deps: RenderDeps,
  options: { locales: string[]; now: string; templates?: string[] },
): Promise<ValidationReport> {
  const problems: ValidationProblem[] = [];
  let checked = 0;
  for (const [template, errors] of set.failures) {
    for (const e of errors) problems.push({ template, where: e.file + (e.line ? `:${e.line}` : ''), message: e.problem + (e.fix ? ` Fix: ${e.fix}` : '') });
  }
  // WhatsApp approves a template only if its body neither starts nor ends with a variable
  // and has no two variables side by side: checked per locale, before anything is submitted.
  for (const d of approvedDefinitions(set, options.locales, () => undefined)) {
    const template = [...set.templates.values()].find((t) => d.key === `template:${t.whatsapp?.approved.name}:${d.language}`)?.name ?? d.key;
    if (options.templates && !options.templates.includes(template)) continue;
    for (const w of d.warnings) problems.push({ template, locale: d.language, where: `${template}/whatsapp.json (approved, ${d.language})`, message: w });
  }
  for (const [name, compiled] of set.templates) {
    if (options.templates && !options.templates.includes(name)) continue;
    for (const w of compiled.mjmlWarnings) problems.push({ template: name, where: `${name}/email.mjml`, message: w });
    for (const profile of fixtures.profiles.keys()) {
      for (const locale of options.locales) {
        checked++;
        const at = { template: name, profile, locale };
        let request;
        try {
          request = sampleRequest(compiled.manifest, fixtures, profile, { locale, now: options.now });
        } catch (err) {
          problems.push({ ...at, where: `${name}/template.json`, message: (err as Error).message });
          continue;
        }
        const parsed = renderRequestSchema.safeParse(request);
        if (!parsed.success) {
          for (const i of parsed.error.issues) problems.push({ ...at, where: `fixtures (${i.path.join('.')})`, message: i.message });
          continue;
        }
        let result;
        try {
          result = renderMessage(parsed.data, deps);
        } catch (err) {
          problems.push({ ...at, where: name, message: (err as Error).message });
          continue;
        }
        // Strict, as CI should be: a string a locale lacks (English was used) is a problem.
        for (const w of result.warnings) {
          if (/^locale string '.*' is missing/.test(w)) problems.push({ ...at, where: `templates/locales/${locale}.json`, message: w });
        }
        if (!result.email) continue;
        for (const m of budgetProblems(partSizes(result.email))) problems.push({ ...at, where: `${name} (sizes)`, message: m });
        if (result.email.amp) {
          const verdict = await validateAmpEmail(result.email.amp);
          const lines = result.email.amp.split('\n');
          for (const e of verdict.errors) {
            if (e.severity !== 'ERROR') continue;
            const source = locateAmpLine(lines[e.line - 1] ?? '', name, compiled.ampSource, set.shared);
            problems.push({ ...at, where: `${source ?? `${name}/email.amp.hbs`} (rendered line ${e.line}, column ${e.col})`, message: e.message });
          }
        }
      }
    }
  }
  return { checked, problems };
}
