/**
 * A problem in a template file, with where it is and how to fix it. Designers see these in
 * `inboxcart validate`, in the preview and in compile failures.
 */
export class TemplateError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly problem: string,
    readonly fix?: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${problem}${fix ? ` Fix: ${fix}` : ''}`);
    this.name = 'TemplateError';
  }
}

export function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}
