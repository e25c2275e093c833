/** Request problems named by field: what a 400 lists, whoever validated the input. */
import { ZodError, type core } from 'zod';

export interface FieldProblem {
  /** Dotted path into the request body (`profile.email`, `recommendations.items.2.url`); `(root)` for the body itself. */
  path: string;
  message: string;
}

/** Zod issues as one problem per wrong field, named by dotted path. */
export function fieldsFromZod(error: ZodError): FieldProblem[] {
  const out: FieldProblem[] = [];
  collect(error.issues, [], out);
  return out;
}

function collect(issues: readonly core.$ZodIssue[], prefix: PropertyKey[], out: FieldProblem[]): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: dotted([...path, key]), message: 'unknown field; remove it (the schema is strict)' });
    } else if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // The branch with the fewest problems is the one the caller most likely meant; its issues
      // name the real fields instead of a bare "Invalid input" on the parent. Each unknown key
      // counts: a full product is not "one problem away" from a strict SKU reference.
      const closest = issue.errors.reduce((best, branch) => (problemCount(branch) < problemCount(best) ? branch : best));
      collect(closest, path, out);
    } else {
      out.push({ path: dotted(path), message: issue.message });
    }
  }
}

function problemCount(issues: readonly core.$ZodIssue[]): number {
  let n = 0;
  for (const issue of issues) n += issue.code === 'unrecognized_keys' ? issue.keys.length : 1;
  return n;
}

function dotted(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}
