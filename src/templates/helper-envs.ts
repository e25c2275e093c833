import Handlebars from 'handlebars';

/**
 * Environments that hold only the helpers a compiled unit can call.
 *
 * On every top-level template call Handlebars copies and wraps each helper of the environment
 * (its runtime's `_setup`): ~2 µs with inboxcart's 27 helpers, and a message makes one such
 * call (a cohort render's WhatsApp part) to a dozen (a personal render's parts and cards). A
 * unit run in an environment cut down to the helpers it names pays for those alone. What a unit
 * names is read from its compiled code (Handlebars calls a helper as
 * `lookupProperty(helpers,"name")`); a unit that calls partials also gets every helper any
 * partial of its environment names (`recordPartial`). A unit whose code reaches for helpers in
 * any other way runs in the full environment. Cut environments share the partials of the one
 * they are cut from and are made once per helper set.
 */

type Env = typeof Handlebars;

/** Moved into hooks on every call, so every environment keeps them. */
const ALWAYS = new Set(['helperMissing', 'blockHelperMissing']);
const NAMED = /lookupProperty\(helpers,"([^"\\]+)"\)/g;
/** `helpers` as a parameter of the compiled functions, or inside lookupProperty: anything else is another use. */
const HELPERS_WORD = /\bhelpers\b/g;
const MUSTACHE = /\{\{[\s\S]*?\}\}/g;
const WORD = /[A-Za-z_][\w]*/g;

const partialHelpers = new WeakMap<Env, Set<string>>();
const cut = new WeakMap<Env, Map<string, Env>>();

/** Notes the helpers a partial registered in `env` may call: every word inside its mustaches that names one. */
export function recordPartial(env: Env, source: string): void {
  let names = partialHelpers.get(env);
  if (!names) {
    names = new Set();
    partialHelpers.set(env, names);
  }
  for (const m of source.matchAll(MUSTACHE)) for (const w of m[0].matchAll(WORD)) if (w[0] in env.helpers) names.add(w[0]);
}

/**
 * The environment a precompiled unit runs in: `env` cut down to the helpers the unit's code
 * (`spec`, Handlebars' precompiled source) and, when it calls partials, the partials can call.
 */
export function envForUnit(env: Env, spec: string, usesPartials: boolean): Env {
  const names = namedHelpers(spec);
  if (!names) return env;
  if (usesPartials) for (const n of partialHelpers.get(env) ?? []) names.add(n);
  for (const n of names) if (!(n in env.helpers)) return env; // a helper the full environment lacks fails there, as before
  const key = [...names].sort().join(',');
  let byKey = cut.get(env);
  if (!byKey) {
    byKey = new Map();
    cut.set(env, byKey);
  }
  let small = byKey.get(key);
  if (!small) {
    small = cutEnv(env, names);
    byKey.set(key, small);
  }
  return small;
}

/** The helper names a unit's compiled code calls, or undefined when it uses `helpers` any other way. */
function namedHelpers(spec: string): Set<string> | undefined {
  const names = new Set<string>();
  let named = 0;
  for (const m of spec.matchAll(NAMED)) {
    names.add(m[1]!);
    named++;
  }
  // Each compiled function takes `helpers` as a parameter once, and a partial call hands them on
  // (`"helpers":helpers`); every other mention must be a named lookup.
  const params = spec.split('function(container,depth0,helpers,partials,data').length - 1;
  const handedOn = spec.split('"helpers":helpers').length - 1;
  const mentions = spec.match(HELPERS_WORD)?.length ?? 0;
  return mentions === params + 2 * handedOn + named ? names : undefined;
}

function cutEnv(env: Env, names: ReadonlySet<string>): Env {
  const small = Handlebars.create();
  // The very helper functions of the full environment, Handlebars' own included: they behave as there.
  for (const name of Object.keys(small.helpers)) small.unregisterHelper(name);
  for (const name of [...names, ...ALWAYS]) if (env.helpers[name]) small.registerHelper(name, env.helpers[name]);
  small.registerPartial(env.partials as Record<string, Handlebars.Template>);
  return small;
}
