import Handlebars from 'handlebars';
import { TemplateError } from './template-error.ts';

/**
 * The values that differ for every recipient: the cohort cache (render/cohort-cache.ts) renders
 * an email once with markers in their place and fills them in per recipient. A template may
 * print them, pass them to `t` as a value to interpolate, or test whether they are there; any
 * other use would see the marker instead of the value, so the cached render would differ from
 * the full one without an error.
 */
const RECIPIENT_PATHS = new Set(['firstName', 'profileId', 'message.id', 'links.unsubscribe']);
/** The AMP endpoint URLs carry the recipient's signed token. */
const RECIPIENT_PREFIXES = ['amp.'];

/** Helpers that only test presence (or pass the value through untouched). */
const PRESENCE_HELPERS = new Set(['if', 'unless', 'and', 'or', 'not']);

type Node = hbs.AST.Node;
type Expression = hbs.AST.Expression;

function recipientPath(e: Expression): string | undefined {
  if (e.type !== 'PathExpression') return undefined;
  const p = e as hbs.AST.PathExpression;
  // `@root.firstName`, `this.firstName` and `../firstName` name the same value as `firstName`.
  const name = p.parts.join('.');
  const data = p.data && p.parts[0] === 'root' ? p.parts.slice(1).join('.') : p.data ? undefined : name;
  if (data === undefined) return undefined;
  return RECIPIENT_PATHS.has(data) || RECIPIENT_PREFIXES.some((prefix) => data.startsWith(prefix)) ? data : undefined;
}

function helperName(e: Expression): string | undefined {
  return e.type === 'PathExpression' ? (e as hbs.AST.PathExpression).original : undefined;
}

/**
 * Refuses a template that branches on or transforms a recipient value beyond a presence test:
 * `{{#if (eq firstName "Ingrid")}}`, `{{truncate firstName 10}}`, `{{#each message.id}}`.
 * Printing (`{{firstName}}`), interpolating (`{{t "greeting.named" name=firstName}}`) and
 * presence tests (`{{#if firstName}}`, `(or (and firstName "a") "b")`) are what the cohort
 * cache supports.
 */
export function lintRecipientValues(file: string, source: string): TemplateError[] {
  if (file.endsWith('.json')) return lintJsonStrings(file, source);
  let program: hbs.AST.Program;
  try {
    program = Handlebars.parse(source);
  } catch {
    // A syntax error is the compiler's to report, with its own position.
    return [];
  }
  return lintProgram(file, program, 0);
}

/** WhatsApp templates are JSON whose string values are Handlebars. */
function lintJsonStrings(file: string, source: string): TemplateError[] {
  let data: unknown;
  try {
    data = JSON.parse(source);
  } catch {
    return [];
  }
  const errors: TemplateError[] = [];
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (!value.includes('{{')) return;
      let program: hbs.AST.Program;
      try {
        program = Handlebars.parse(value);
      } catch {
        return;
      }
      // The string's own line in the file: where its JSON form first appears.
      const at = source.indexOf(JSON.stringify(value).slice(1, -1));
      const line = at < 0 ? 1 : source.slice(0, at).split('\n').length;
      errors.push(...lintProgram(file, program, line - 1));
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') Object.values(value).forEach(visit);
  };
  visit(data);
  return errors;
}

function lintProgram(file: string, program: hbs.AST.Program, lineOffset: number): TemplateError[] {
  const errors: TemplateError[] = [];
  const refuse = (node: Node, value: string, use: string) =>
    errors.push(
      new TemplateError(
        file,
        lineOffset + (node.loc?.start.line ?? 1),
        `${use} uses the recipient value '${value}' beyond printing it or testing that it is there: the cohort cache renders one email for many recipients with a marker in its place, so the cached email would differ from the full render.`,
        `print it ({{${value}}}), pass it to t ({{t "key" name=${value}}}) or test it ({{#if ${value}}}); decide anything else in the data the campaign sends (a segment, a flag) instead.`,
      ),
    );

  /** An expression in parameter position of `helper`. */
  const param = (e: Expression, helper: string | undefined, node: Node, first: boolean) => {
    const value = recipientPath(e);
    if (value !== undefined) {
      const allowed = helper !== undefined && (PRESENCE_HELPERS.has(helper) || (helper === 't' && !first));
      if (!allowed) refuse(node, value, helper ? `'${helper}'` : 'an expression');
      return;
    }
    if (e.type === 'SubExpression') call(e as hbs.AST.SubExpression);
  };

  const call = (node: hbs.AST.MustacheStatement | hbs.AST.BlockStatement | hbs.AST.SubExpression) => {
    const helper = helperName(node.path);
    node.params.forEach((p, i) => param(p, helper, node, i === 0));
    for (const pair of node.hash?.pairs ?? []) param(pair.value, helper, node, false);
    if (node.type === 'BlockStatement' && node.params.length === 0) {
      const value = recipientPath(node.path);
      // `{{#firstName}}` iterates or scopes on the value like `each`/`with` would.
      if (value !== undefined) refuse(node, value, `the block '{{#${value}}}'`);
    }
  };

  const walk = (node: Node | null | undefined): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program':
        for (const s of (node as hbs.AST.Program).body) walk(s);
        break;
      case 'MustacheStatement':
        call(node as hbs.AST.MustacheStatement);
        break;
      case 'BlockStatement': {
        const block = node as hbs.AST.BlockStatement;
        call(block);
        walk(block.program);
        walk(block.inverse);
        break;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement': {
        const partial = node as hbs.AST.PartialStatement;
        // A partial that receives the value under another name could branch on it unseen.
        for (const p of partial.params) {
          const value = recipientPath(p);
          if (value !== undefined) refuse(node, value, 'a partial parameter');
        }
        for (const pair of partial.hash?.pairs ?? []) {
          const value = recipientPath(pair.value);
          if (value !== undefined) refuse(node, value, `the partial parameter ${pair.key}=`);
        }
        if (node.type === 'PartialBlockStatement') walk((node as hbs.AST.PartialBlockStatement).program);
        break;
      }
      default:
        break;
    }
  };
  walk(program);
  return errors;
}
