/**
 * Cuts the product cards out of an email part at compile time, for the fragment cache
 * (render/fragment-cache.ts).
 *
 * A part's `{{#each products}}…{{/each}}` blocks at the root context become
 * `{{{@root.fragments.cN}}}`, and each block's body is compiled on its own as a card template.
 * Reading the card's Handlebars (its partials included) tells exactly what a card depends on:
 * which product fields, which root fields (directly or through a helper), which `@index`-like
 * variables. That list is the cache key (`CardReads`): nothing is guessed. Root values that
 * differ per recipient and are only printed (the AMP endpoint URLs with the recipient's token)
 * are holes: rendered as markers and filled in per recipient instead of keyed.
 *
 * A block whose card does something the analysis cannot follow (`../`, block params, dynamic
 * partials, `lookup`, inline partials) is left in place: that part renders as before.
 */
import type Handlebars from 'handlebars';

/** What one card template reads: its fragment cache key is the values of these. */
export interface CardReads {
  /** Product fields read (top-level names), or every field (`{{this}}`, `{{json .}}`). */
  product: string[] | 'all';
  /** Root paths read, dotted ("offer.percentOff"); holes are not among them. */
  root: string[];
  /** `@index`, `@first`, `@last`, `@key` as the `each` over products sets them. */
  data: string[];
  /** Root paths only ever printed escaped (`{{@root.amp.checkout}}`), filled in per recipient. */
  holes: string[];
  /**
   * Product fields only ever printed escaped (`{{reason}}`), given to `t` as a value in an
   * escaped mustache (`{{t "product.yourSize" size=selectedSize}}`) or tested for presence
   * (`{{#if reason}}`): keyed by presence alone and filled in per card, so recipients who see
   * the same product with another reason or size share the card. Not among `product`.
   */
  productHoles: string[];
}

/** A compiled Handlebars template, as the fragment cache calls it. */
export type Render = (data: unknown, options?: { data?: { root: unknown; [name: string]: unknown } }) => string;

export type CardPartName = 'html' | 'amp' | 'text';

/** A card template and what it reads, ready for keys. */
export interface CardTemplate {
  render: Render;
  reads: CardReads;
  rootPaths: string[][];
  holePaths: string[][];
}

/** An email part whose product blocks render through the fragment cache. */
export interface CardPart {
  /** The part with `{{{@root.fragments.cN}}}` where block N was. */
  main: Render;
  cards: CardTemplate[];
}

export function cardTemplate(render: Render, reads: CardReads): CardTemplate {
  return { render, reads, rootPaths: reads.root.map((p) => p.split('.')), holePaths: reads.holes.map((p) => p.split('.')) };
}

/**
 * Root fields each helper reads (handlebars-env.ts), apart from those fixed by the
 * template version and locale (`strings`, `fallbackStrings`, `brand`) and `warnings`, which
 * helpers write. A helper missing here makes its card uncacheable (a test checks the list
 * covers every registered helper).
 */
export const HELPER_ROOT_READS: Readonly<Record<string, readonly string[]>> = {
  // `strings` are those of the view's locale, which is the part's locale (every locale with
  // strings has its compiled parts), so they and the locale named in a missing-string warning
  // are fixed by the part locale in the key.
  t: [],
  plural: ['intlLocale'],
  money: ['currency', 'intlLocale'],
  date: ['intlLocale', 'timezone'],
  link: ['campaignParams'],
  imageUrl: [],
  json: [],
  raw: [],
  eq: [], ne: [], gt: [], lt: [], and: [], or: [], not: [], add: [], concat: [], truncate: [], percent: [],
  // Handlebars' own: `if`/`unless` keep the context, `each`/`with` change it.
  if: [], unless: [], each: [], with: [],
};

/**
 * Root values that differ per recipient. Printed plainly, they are holes; read any other way
 * (as a helper argument, a condition) they are keyed, so the card is per recipient.
 */
const PER_RECIPIENT = new Set(['amp.offers', 'amp.cart', 'amp.checkout', 'amp.survey', 'links.unsubscribe', 'firstName', 'profileId', 'message.id']);

/** Values that are fixed by the template version and the part's locale: not keyed. */
const FIXED_ROOT = new Set(['strings', 'fallbackStrings', 'brand']);

const EACH_DATA = new Set(['index', 'first', 'last', 'key']);

export interface SplitPart {
  /** The part with every cut block replaced by `{{{@root.fragments.cN}}}`. */
  main: hbs.AST.Program;
  cards: { program: hbs.AST.Program; reads: CardReads }[];
}

type Node = { type: string; [k: string]: unknown };
type Path = { type: 'PathExpression'; data: boolean; depth: number; parts: string[]; original: string };

class Unsupported extends Error {}

/**
 * The part's source split at its product blocks, or undefined when it has none that can be
 * cut. `partials` are the Handlebars partials' sources, by name.
 */
export function splitProductCards(hb: typeof Handlebars, source: string, partials: ReadonlyMap<string, string>): SplitPart | undefined {
  const parsedPartials = new Map<string, hbs.AST.Program>();
  const partial = (name: string): hbs.AST.Program => {
    let p = parsedPartials.get(name);
    if (!p) {
      const text = partials.get(name);
      if (text === undefined) throw new Unsupported(`partial ${name}`);
      p = hb.parse(text);
      parsedPartials.set(name, p);
    }
    return p;
  };
  const main = hb.parse(source);
  const cards: SplitPart['cards'] = [];
  const helpers = new Set(Object.keys(hb.helpers));

  // Walks the statements that run at the root context; cuts the product blocks among them.
  const visitRoot = (program: hbs.AST.Program | undefined) => {
    if (!program) return;
    const body = program.body as unknown as Node[];
    for (let i = 0; i < body.length; i++) {
      const node = body[i]!;
      if (node.type === 'BlockStatement') {
        const name = simpleName(node.path as Node, helpers);
        if (name === 'each' && isProductsParam(node) && !node.inverse && !(node.program as hbs.AST.Program).blockParams?.length) {
          try {
            const reads = cardReads(node.program as hbs.AST.Program, helpers, partial);
            body[i] = fragmentMustache(cards.length, node);
            cards.push({ program: standalone(node.program as hbs.AST.Program), reads });
          } catch (err) {
            if (!(err instanceof Unsupported)) throw err;
          }
        } else if (name === 'if' || name === 'unless') {
          visitRoot(node.program as hbs.AST.Program);
          visitRoot(node.inverse as hbs.AST.Program | undefined);
        }
      } else if (node.type === 'PartialBlockStatement' && (node.params as unknown[]).length === 0 && !node.hash) {
        // A layout's block content renders where the layout calls @partial-block: at the root
        // context when the layout calls it there.
        const layout = (node.name as Path).original;
        try {
          if (callsBlockAtRoot(partial(layout), helpers)) visitRoot(node.program as hbs.AST.Program);
        } catch (err) {
          if (!(err instanceof Unsupported)) throw err;
        }
      }
    }
  };
  visitRoot(main);
  return cards.length ? { main, cards } : undefined;
}

function isProductsParam(node: Node): boolean {
  const params = node.params as Node[];
  const p = params[0] as Path | undefined;
  return params.length === 1 && !node.hash && p?.type === 'PathExpression' && !p.data && p.depth === 0 && p.parts.length === 1 && p.parts[0] === 'products';
}

/** A helper's name when the path calls one (knownHelpersOnly: a simple name that is registered). */
function simpleName(path: Node, helpers: ReadonlySet<string>): string | undefined {
  if (path.type !== 'PathExpression') return undefined;
  const p = path as Path;
  return !p.data && p.depth === 0 && p.parts.length === 1 && helpers.has(p.parts[0]!) ? p.parts[0] : undefined;
}

function fragmentMustache(n: number, at: Node): Node {
  const original = `@root.fragments.c${n}`;
  return {
    type: 'MustacheStatement',
    path: { type: 'PathExpression', data: true, depth: 0, parts: ['root', 'fragments', `c${n}`], original, loc: at.loc },
    params: [],
    hash: undefined,
    escaped: false,
    strip: { open: false, close: false },
    loc: at.loc,
  };
}

/**
 * The block's body as a template of its own. Handlebars runs its white-space rules again on an
 * AST it is given; they are idempotent except at a program's edges, where a root program
 * counts as "beside a line break" and a block's body does not. A non-blank sentinel that
 * renders nothing at each edge keeps them as in the block.
 */
function standalone(program: hbs.AST.Program): hbs.AST.Program {
  const sentinel = () => ({ type: 'ContentStatement', value: '', original: 'x', leftStripped: true, rightStripped: true, loc: program.loc });
  return { ...program, body: [sentinel(), ...program.body, sentinel()] as unknown as hbs.AST.Statement[], blockParams: [] };
}

/** Whether the layout calls `{{> @partial-block}}` only where the context is still the root. */
function callsBlockAtRoot(layout: hbs.AST.Program, helpers: ReadonlySet<string>): boolean {
  let atRoot = false;
  let elsewhere = false;
  const visit = (program: hbs.AST.Program | undefined, root: boolean) => {
    for (const node of (program?.body ?? []) as unknown as Node[]) {
      if (node.type === 'PartialStatement' && (node.name as Path).original === '@partial-block') {
        if (root && (node.params as unknown[]).length === 0) atRoot = true;
        else elsewhere = true;
      } else if (node.type === 'BlockStatement' || node.type === 'PartialBlockStatement' || node.type === 'DecoratorBlock') {
        const name = node.type === 'BlockStatement' ? simpleName(node.path as Node, helpers) : undefined;
        const keeps = name === 'if' || name === 'unless';
        visit(node.program as hbs.AST.Program, root && keeps);
        visit(node.inverse as hbs.AST.Program | undefined, root && keeps);
      }
    }
  };
  visit(layout, true);
  return atRoot && !elsewhere;
}

/**
 * How a card uses a value: printed escaped, given to `t` as a value in an escaped mustache,
 * tested for presence by `if`/`unless`, or anything else (keyed by value).
 */
type Use = 'printed' | 't' | 'presence' | 'other';

/** What a card reads (see CardReads); throws Unsupported for anything it cannot follow. */
function cardReads(program: hbs.AST.Program, helpers: ReadonlySet<string>, partial: (name: string) => hbs.AST.Program): CardReads {
  const product = new Set<string>();
  const productUses = new Map<string, Set<Use>>();
  let allProduct = false;
  const root = new Set<string>();
  const data = new Set<string>();
  const printed = new Set<string>();
  const keyed = new Set<string>();
  const partialsSeen = new Set<string>();

  // `level`: how many context changes (each, with) the walk is inside, the card's own being 0.
  const value = (node: Node | undefined, level: number, use: Use = 'other'): void => {
    if (!node) return;
    const printedPlainly = use === 'printed';
    if (node.type === 'SubExpression') return call(node, level);
    if (node.type !== 'PathExpression') return; // a literal
    const p = node as Path;
    if (p.data) {
      if (p.depth !== 0) throw new Unsupported('@../');
      if (p.parts[0] === 'root') {
        const path = p.parts.slice(1).join('.');
        if (!path) throw new Unsupported('@root');
        if (FIXED_ROOT.has(p.parts[1]!)) return;
        (printedPlainly ? printed : keyed).add(path);
        return;
      }
      if (level > 0) return; // a nested each's own @index: covered by the field it iterates
      if (!EACH_DATA.has(p.parts[0]!)) throw new Unsupported(`@${p.parts[0]}`);
      data.add(p.parts[0]!);
      return;
    }
    const up = level - p.depth;
    if (up < 0) throw new Unsupported('../ out of the card');
    if (up > 0) return; // inside a nested each/with: covered by the field it iterates
    if (p.parts.length === 0) allProduct = true;
    else {
      product.add(p.parts[0]!);
      const uses = productUses.get(p.parts[0]!) ?? new Set<Use>();
      // A deeper path (`sizes.length`) reads more than the field's presence.
      uses.add(p.parts.length === 1 ? use : 'other');
      productUses.set(p.parts[0]!, uses);
    }
  };
  const args = (node: Node, level: number, hashUse: Use = 'other') => {
    for (const param of node.params as Node[]) value(param, level);
    for (const pair of ((node.hash as { pairs: { value: Node }[] } | undefined)?.pairs ?? [])) value(pair.value, level, hashUse);
  };
  const helperReads = (name: string) => {
    const reads = HELPER_ROOT_READS[name];
    if (!reads) throw new Unsupported(`helper ${name}`);
    for (const r of reads) keyed.add(r);
  };
  // `escapedOutput`: the call is an escaped mustache's own (its result is printed escaped).
  const call = (node: Node, level: number, escapedOutput = false): void => {
    const name = simpleName(node.path as Node, helpers);
    if (name === undefined) throw new Unsupported('a call that is not a known helper');
    helperReads(name);
    const params = node.params as Node[];
    const hash = node.hash as { pairs: unknown[] } | undefined;
    if ((name === 'if' || name === 'unless') && params.length === 1 && !hash?.pairs.length) return value(params[0], level, 'presence');
    // `t` prints its values as they are, into its string: escaped with it in an escaped mustache.
    args(node, level, name === 't' && escapedOutput ? 't' : 'other');
  };
  const statements = (p: hbs.AST.Program | undefined, level: number) => {
    for (const node of (p?.body ?? []) as unknown as Node[]) statement(node, level);
  };
  const statement = (node: Node, level: number) => {
    switch (node.type) {
      case 'ContentStatement':
      case 'CommentStatement':
        return;
      case 'MustacheStatement': {
        const name = simpleName(node.path as Node, helpers);
        if (name !== undefined) return call(node, level, node.escaped === true);
        if ((node.params as unknown[]).length || node.hash) throw new Unsupported('params on data');
        return value(node.path as Node, level, node.escaped === true ? 'printed' : 'other');
      }
      case 'BlockStatement': {
        const name = simpleName(node.path as Node, helpers);
        if ((node.program as hbs.AST.Program | undefined)?.blockParams?.length) throw new Unsupported('block params');
        if (name === 'if' || name === 'unless' || name === 'raw') {
          call(node, level);
          statements(node.program as hbs.AST.Program, level);
          statements(node.inverse as hbs.AST.Program | undefined, level);
          return;
        }
        if (name === 'each' || name === 'with') {
          call(node, level);
          statements(node.program as hbs.AST.Program, level + 1);
          statements(node.inverse as hbs.AST.Program | undefined, level);
          return;
        }
        throw new Unsupported(`block ${String((node.path as Path).original)}`);
      }
      case 'PartialStatement': {
        const name = node.name as Node;
        if (name.type !== 'PathExpression' || (name as Path).data || (node.params as unknown[]).length || node.hash) throw new Unsupported('partial call');
        const partialName = (name as Path).original;
        if (level > 0) throw new Unsupported('partial in a nested context');
        if (partialsSeen.has(partialName)) return;
        partialsSeen.add(partialName);
        statements(partial(partialName), level);
        return;
      }
      default:
        throw new Unsupported(node.type);
    }
  };
  statements(program, 0);
  const holes = [...printed].filter((p) => PER_RECIPIENT.has(p) && !keyed.has(p));
  for (const p of printed) if (!holes.includes(p)) keyed.add(p);
  const productHoles = allProduct ? [] : [...productUses].filter(([, uses]) => !uses.has('other')).map(([field]) => field);
  return {
    product: allProduct ? 'all' : [...product].filter((f) => !productHoles.includes(f)).sort(),
    root: [...keyed].sort(),
    data: [...data].sort(),
    holes: holes.sort(),
    productHoles: productHoles.sort(),
  };
}
