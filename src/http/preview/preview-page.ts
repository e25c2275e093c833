import { readFileSync } from 'node:fs';
import type { Channel } from '../../templates/template-manifest.ts';
import type { PreviewProblem } from './preview-problem.ts';

/** What the page's pickers offer; also GET /preview/api/options. */
export interface PreviewOptions {
  version: number;
  brand: string;
  templates: { name: string; description: string; channels: Channel[]; variants: string[]; broken: boolean }[];
  profiles: { name: string; locale: string }[];
  locales: string[];
  now: string;
  problems: PreviewProblem[];
}

/** The page's script and styles ship inline: the preview works offline and has no build step. */
const SCRIPT = readFileSync(new URL('./page/preview.js', import.meta.url), 'utf8');
const STYLES = readFileSync(new URL('./page/preview.css', import.meta.url), 'utf8');

/** The value the profile picker uses for "paste a profile". */
export const PASTE_OPTION = '(paste)';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML text and quoted-attribute escaping (HTML Living Standard §13.1.2.3, §13.2.5.36). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * JSON inside <script type="application/json">: `<` as \u003c, so no value can close the
 * element ("</script>") or open a comment ("<!--"); U+2028/2029 are escaped for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const option = (value: string, label: string, selected = false) =>
  `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(label)}</option>`;

const SAMPLE_PROFILE = JSON.stringify(
  {
    id: 'cust-pasted',
    firstName: 'Alex',
    email: 'alex@example.com',
    locale: 'en',
    currency: 'EUR',
    consent: { email: true, whatsapp: true },
    orders: { count: 2, totalSpent: 180, lastOrderAt: '2026-10-01T12:00:00Z' },
  },
  null,
  2,
);

/**
 * The preview page: pickers rendered on the server (so the page is usable before its script
 * runs) and every pane filled by the inline script from the JSON API. All data reaches the DOM
 * as text nodes or sandboxed srcdoc; nothing from a profile is ever parsed as HTML here.
 */
export function previewPage(o: { base: string; nonce: string; options: PreviewOptions }): string {
  const { options } = o;
  const first = options.templates.find((t) => !t.broken) ?? options.templates[0];
  const templates = options.templates.map((t) => option(t.name, t.broken ? `${t.name} (does not compile)` : t.name, t === first)).join('');
  const profiles = options.profiles.map((p, i) => option(p.name, `${p.name} (${p.locale})`, i === 0)).join('') + option(PASTE_OPTION, 'Paste JSON…');
  const locales = option('', "profile's") + options.locales.map((l) => option(l, l)).join('');
  const variants = option('', 'assigned') + (first?.variants ?? []).map((v) => option(v, v)).join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Preview · ${escapeHtml(options.brand)} · inboxcart</title>
<style>${STYLES}</style>
</head>
<body data-base="${escapeHtml(o.base)}" data-paste="${escapeHtml(PASTE_OPTION)}" data-state="loading" data-version="0">
<header class="bar">
  <h1>inboxcart <small>designers' preview</small></h1>
  <form id="controls" class="controls" autocomplete="off">
    <label>Template <select id="template">${templates}</select></label>
    <label>Profile <select id="profile">${profiles}</select></label>
    <label>Locale <select id="locale">${locales}</select></label>
    <label>Variant <select id="variant">${variants}</select></label>
    <label>Clock <input id="now" value="${escapeHtml(options.now)}" spellcheck="false" size="22" title="The moment the render happens (ISO date-time); the fixtures assume ${escapeHtml(options.now)}"></label>
    <button type="button" id="download-eml">Download .eml</button>
  </form>
  <a id="results-link" class="results-link" href="${escapeHtml(o.base)}/results">Results</a>
  <span id="live" class="live" data-live="no">connecting…</span>
</header>
<section id="paste" class="paste" hidden>
  <label for="profile-json">Profile JSON <small>validated like <code>profile</code> in POST /v1/render; the template's sample recommendations, cart and order are added</small></label>
  <textarea id="profile-json" spellcheck="false" rows="12">${escapeHtml(SAMPLE_PROFILE)}</textarea>
  <button type="button" id="render-pasted">Render (Ctrl+Enter)</button>
</section>
<section id="problems" class="problems" role="alert" hidden><h2>Problems</h2><ul id="problem-list"></ul></section>
<section id="campaigns" class="campaigns" aria-label="Campaigns" hidden><h2>Campaigns</h2><ul id="campaign-list"></ul></section>
<section id="triggers" class="campaigns" aria-label="Triggers" hidden><h2>Triggers</h2><ul id="trigger-list"></ul></section>
<main id="panes" class="panes">
  <section class="pane summary" aria-label="Inbox and facts">
    <div id="inbox" class="inbox">
      <span class="avatar" aria-hidden="true"></span>
      <span id="sender" class="sender"></span>
      <span class="lines"><span id="subject" class="subject data"></span> <span class="dash">—</span> <span id="preheader" class="preheader data"></span></span>
      <span id="inbox-when" class="when"></span>
    </div>
    <dl class="facts">
      <dt>Segments</dt><dd id="segments"></dd>
      <dt>Variant</dt><dd id="variant-used"></dd>
      <dt>Locale</dt><dd id="locale-used"></dd>
      <dt>Message</dt><dd id="message-id" class="mono"></dd>
    </dl>
    <table id="sizes" class="sizes"><caption>Sizes against the limits</caption><tbody></tbody></table>
    <h3>Warnings</h3>
    <ul id="warnings" class="warnings"></ul>
  </section>
  <section class="pane html" aria-label="HTML part">
    <h2>HTML</h2>
    <div class="frames">
      <figure><figcaption>Phone · 375 px</figcaption><iframe id="phone-frame" class="phone" sandbox="" title="HTML part at phone width" referrerpolicy="no-referrer"></iframe></figure>
      <figure><figcaption>Desktop · 720 px</figcaption><iframe id="desktop-frame" class="desktop" sandbox="" title="HTML part at desktop width" referrerpolicy="no-referrer"></iframe></figure>
    </div>
  </section>
  <section class="pane whatsapp" aria-label="WhatsApp message">
    <h2>WhatsApp</h2>
    <p id="wa-state" class="wa-state"></p>
    <div class="chat">
      <div id="wa-bubble" class="bubble data"></div>
      <div id="wa-buttons" class="wa-buttons"></div>
    </div>
  </section>
  <section class="pane amp" aria-label="AMP part">
    <h2>AMP <span id="amp-verdict" class="verdict"></span> <small id="amp-summary"></small></h2>
    <ol id="amp-errors" class="amp-errors"></ol>
    <pre id="amp-source" class="source"></pre>
  </section>
  <section class="pane text" aria-label="Text part">
    <h2>Text</h2>
    <pre id="text-part" class="text-part data"></pre>
  </section>
</main>
<script type="application/json" id="options-data">${jsonForScript(options)}</script>
<script nonce="${escapeHtml(o.nonce)}">${SCRIPT}</script>
</body>
</html>
`;
}
