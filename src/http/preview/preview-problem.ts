import { TemplateError } from '../../templates/template-error.ts';

/**
 * Something the designer should fix, shown in the preview page instead of failing the request
 * (the preview validates softly: show, don't crash).
 */
export interface PreviewProblem {
  severity: 'error' | 'warning';
  /** A file under templates/ (or fixtures/) when known, e.g. `price-drop/email.mjml`. */
  file?: string;
  line?: number;
  column?: number;
  problem: string;
  fix?: string;
}

/** One problem per template error; anything else keeps its message and names `where` as the file. */
export function problemFrom(err: unknown, where?: string): PreviewProblem {
  if (err instanceof TemplateError) return { severity: 'error', file: err.file, line: err.line, problem: err.problem, fix: err.fix };
  return { severity: 'error', file: where, problem: err instanceof Error ? err.message : String(err) };
}
