// The preview page's script, inlined by preview-page.ts. Plain browser JavaScript, no build.
// Every value from a render is data: it reaches the DOM through textContent, attributes set
// one by one, or a sandboxed iframe's srcdoc — never innerHTML.
'use strict';
(() => {
  const base = document.body.dataset.base;
  const PASTE = document.body.dataset.paste;
  const $ = (id) => document.getElementById(id);
  const ui = {
    template: $('template'),
    profile: $('profile'),
    locale: $('locale'),
    variant: $('variant'),
    now: $('now'),
    paste: $('paste'),
    json: $('profile-json'),
    panes: $('panes'),
  };
  let options = JSON.parse($('options-data').textContent);
  /** Bumped per render request: a slow answer to an older request must not overwrite a newer one. */
  let seq = 0;
  /** The template-set version the panes show. */
  let shownVersion = -1;

  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null || child === false) continue;
      node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
    }
    return node;
  }

  /** replaceChildren without the "null" text node DOM would make of a skipped child. */
  function fill(node, ...children) {
    node.replaceChildren(...children.filter((c) => c !== undefined && c !== null && c !== false));
  }

  const httpsOnly = (url) => (typeof url === 'string' && /^https:\/\//i.test(url) ? url : undefined);
  const bytes = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') + ' B' : '—');
  const clock = (iso) => {
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toISOString().slice(11, 16) + ' UTC';
  };
  const where = (p) => (p.file || '') + (p.line ? ':' + p.line : '') + (p.column ? ':' + p.column : '');

  // ---- pickers ------------------------------------------------------------------------------

  function setOptions(select, items, keep) {
    const previous = keep ? select.value : undefined;
    fill(select, ...items.map(([value, label]) => h('option', { value }, label)));
    if (previous !== undefined && items.some(([value]) => value === previous)) select.value = previous;
  }

  function currentTemplate() {
    return options.templates.find((t) => t.name === ui.template.value);
  }

  function fillPickers() {
    setOptions(ui.template, options.templates.map((t) => [t.name, t.broken ? t.name + ' (does not compile)' : t.name]), true);
    setOptions(ui.profile, options.profiles.map((p) => [p.name, p.name + ' (' + p.locale + ')']).concat([[PASTE, 'Paste JSON…']]), true);
    setOptions(ui.locale, [['', "profile's"]].concat(options.locales.map((l) => [l, l])), true);
    fillVariants();
  }

  function fillVariants() {
    const t = currentTemplate();
    setOptions(ui.variant, [['', 'assigned']].concat((t ? t.variants : []).map((v) => [v, v])), true);
  }

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const pick = (select, value) => {
      if (value !== null && [...select.options].some((o) => o.value === value)) select.value = value;
    };
    pick(ui.template, params.get('template'));
    fillVariants();
    pick(ui.profile, params.get('profile'));
    pick(ui.locale, params.get('locale'));
    pick(ui.variant, params.get('variant'));
    if (params.get('now')) ui.now.value = params.get('now');
  }

  function writeHash() {
    const params = new URLSearchParams();
    params.set('template', ui.template.value);
    params.set('profile', ui.profile.value);
    if (ui.locale.value) params.set('locale', ui.locale.value);
    if (ui.variant.value) params.set('variant', ui.variant.value);
    if (ui.now.value !== options.now) params.set('now', ui.now.value);
    history.replaceState(null, '', '#' + params.toString());
  }

  async function loadOptions() {
    const res = await fetch(base + '/api/options', { cache: 'no-store' });
    if (!res.ok) return;
    options = await res.json();
    fillPickers();
  }

  // ---- requests -----------------------------------------------------------------------------

  class PasteError extends Error {}

  function requestBody() {
    const body = { template: ui.template.value };
    if (ui.profile.value === PASTE) {
      try {
        body.profile = JSON.parse(ui.json.value);
      } catch (err) {
        throw new PasteError(err.message);
      }
      if (body.profile === null || typeof body.profile !== 'object' || Array.isArray(body.profile)) {
        throw new PasteError('it is ' + (Array.isArray(body.profile) ? 'an array' : typeof body.profile) + ', not a JSON object');
      }
    } else {
      body.profile = ui.profile.value;
    }
    if (ui.locale.value) body.locale = ui.locale.value;
    if (ui.variant.value) body.variant = ui.variant.value;
    if (ui.now.value.trim()) body.now = ui.now.value.trim();
    return body;
  }

  function pasteProblem(err) {
    return [{ severity: 'error', file: 'pasted profile', problem: 'is not valid JSON: ' + err.message + '.', fix: 'Paste one JSON object, e.g. {"id": "cust-1", "firstName": "Alex"}.' }];
  }

  /** A 4xx/5xx body ({ error: { code, message, fields } }) as problems. */
  function httpProblems(error) {
    const list = [{ severity: 'error', problem: error.message }];
    for (const f of error.fields || []) list.push({ severity: 'error', file: f.path, problem: f.message });
    return list;
  }

  async function render() {
    const mine = ++seq;
    writeHash();
    let body;
    try {
      body = requestBody();
    } catch (err) {
      if (!(err instanceof PasteError)) throw err;
      failed(pasteProblem(err));
      return;
    }
    setState('rendering');
    let res;
    let data;
    try {
      res = await fetch(base + '/api/render', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      data = await res.json();
    } catch (err) {
      if (mine !== seq) return;
      failed([{ severity: 'error', file: 'preview', problem: 'The preview server did not answer (' + err.message + '). Is it still running?' }]);
      return;
    }
    if (mine !== seq) return;
    if (!res.ok) {
      failed(httpProblems(data.error || { code: 'http_' + res.status, message: res.statusText }));
      return;
    }
    show(data);
  }

  /** Nothing new to show: the problems go on top and the last good render stays, dimmed. */
  function failed(problems) {
    showProblems(problems);
    ui.panes.classList.add('stale');
    setState('error');
  }

  function setState(state) {
    document.body.dataset.state = state;
  }

  // ---- panes --------------------------------------------------------------------------------

  function show(data) {
    shownVersion = data.version;
    document.body.dataset.version = String(data.version);
    const r = data.result;
    // Without a result the template does not compile (or its data does not fit it).
    if (!r) {
      failed(data.problems);
      return;
    }
    showProblems(data.problems);
    ui.panes.classList.remove('stale');
    showSummary(data, r);
    showEmail(r.email, data.sizes);
    showAmp(r.email && r.email.amp, data.amp);
    showWhatsApp(r.whatsapp, data.now);
    setState(data.problems.some((p) => p.severity === 'error') ? 'rendered-with-problems' : 'rendered');
  }

  function showProblems(list) {
    const box = $('problems');
    fill($('problem-list'),
      ...list.map((p) =>
        h('li', { class: p.severity }, h('span', { class: 'where' }, where(p) || p.severity), ' ', p.problem, p.fix ? h('span', { class: 'fix' }, 'Fix: ' + p.fix) : null),
      ),
    );
    box.hidden = list.length === 0;
    box.classList.toggle('warnings-only', list.every((p) => p.severity === 'warning'));
  }

  function showSummary(data, r) {
    $('sender').textContent = options.brand;
    $('subject').textContent = r.email ? r.email.subject : '(no email part)';
    $('preheader').textContent = r.email ? r.email.preheader : '';
    const when = new Date(data.now);
    $('inbox-when').textContent = isNaN(when) ? '' : when.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
    fill($('segments'), ...(r.segments.length ? r.segments.map((s) => h('span', { class: 'chip' }, s)) : [h('span', { class: 'empty' }, 'none')]));
    $('variant-used').textContent = r.variant || 'none (the template has no variants)';
    $('locale-used').textContent = r.locale || '—';
    $('message-id').textContent = r.id;
    fill($('warnings'), ...r.warnings.map((w) => h('li', {}, w)));
  }

  function showEmail(email, sizes) {
    const html = email ? email.html : '<p style="font:14px sans-serif;color:#667085">This template has no email part.</p>';
    for (const id of ['phone-frame', 'desktop-frame']) {
      const frame = $(id);
      if (frame.srcdoc !== html) frame.srcdoc = html;
    }
    $('text-part').textContent = email ? email.text : '';
    const rows = [];
    if (sizes) {
      const p = sizes.parts;
      const b = sizes.budgets;
      if (p.amp !== undefined && p.amp !== null) rows.push(['AMP part', p.amp, b.ampBytes, '<']);
      if (p.ampCss !== undefined && p.ampCss !== null) rows.push(['AMP CSS', p.ampCss, b.ampCssBytes, '≤']);
      rows.push(['HTML part', p.html, b.htmlBytes, '<']);
      rows.push(['Text part', p.text, undefined, '']);
    }
    fill($('sizes').tBodies[0],
      ...rows.map(([label, size, limit, op]) => {
        const over = limit !== undefined && (op === '≤' ? size > limit : size >= limit);
        const share = limit ? Math.min(100, Math.round((size / limit) * 100)) : 0;
        return h(
          'tr',
          { class: over ? 'over' : '', 'data-part': label },
          h('td', {}, label),
          h('td', { class: 'num' }, bytes(size)),
          h('td', {}, limit ? op + ' ' + bytes(limit) : 'no limit'),
          h('td', {}, limit ? h('div', { class: 'meter', title: share + ' %' }, h('span', { style: 'width:' + share + '%' })) : ''),
        );
      }),
    );
  }

  function showAmp(source, amp) {
    const verdict = $('amp-verdict');
    const list = $('amp-errors');
    const pre = $('amp-source');
    if (!source || !amp) {
      verdict.textContent = 'no AMP part';
      verdict.dataset.status = 'NONE';
      $('amp-summary').textContent = '';
      fill(list);
      fill(pre, h('span', { class: 'empty' }, 'This template has no email.amp.hbs.'));
      return;
    }
    verdict.textContent = amp.status;
    verdict.dataset.status = amp.status;
    const errors = amp.errors.filter((e) => e.severity === 'ERROR').length;
    $('amp-summary').textContent = 'official validator · ' + errors + ' error(s), ' + (amp.errors.length - errors) + ' warning(s)';
    const bad = new Set(amp.errors.map((e) => e.line));
    const lines = source.split('\n');
    fill(pre, ...lines.map((line, i) => h('span', { class: bad.has(i + 1) ? 'line bad' : 'line', id: 'amp-L' + (i + 1), 'data-n': i + 1 }, line + '\n')));
    fill(list,
      ...amp.errors.map((e) =>
        h(
          'li',
          { class: e.severity },
          h('button', { type: 'button', class: 'jump', 'data-line': e.line }, 'line ' + e.line + ', column ' + e.col),
          ' ',
          e.severity === 'WARNING' ? 'warning: ' : '',
          e.message,
          e.source ? h('span', { class: 'mono' }, ' ← ' + e.source.file + ':' + e.source.line) : null,
          httpsOnly(e.specUrl) ? h('span', {}, ' (', h('a', { href: e.specUrl, target: '_blank', rel: 'noreferrer noopener' }, 'spec'), ')') : null,
        ),
      ),
    );
  }

  // WhatsApp formatting: *bold*, _italic_, ~strike~, only when the marks hug a word as on the phone.
  const WA_MARKS = /(^|[\s([{])([*_~])(?=\S)([^\n]*?\S)\2(?=$|[\s.,!?:;)\]}])/g;
  const WA_TAGS = { '*': 'strong', _: 'em', '~': 's' };
  function waText(text) {
    const out = document.createDocumentFragment();
    let last = 0;
    for (const m of text.matchAll(WA_MARKS)) {
      const start = m.index + m[1].length;
      out.append(text.slice(last, start), h(WA_TAGS[m[2]], {}, m[3]));
      last = m.index + m[0].length;
    }
    out.append(text.slice(last));
    return out;
  }

  const SUPPRESSED = {
    no_consent: 'the customer has not consented to WhatsApp marketing',
    opted_out: 'the customer sent STOP',
    no_phone: 'the profile has no phone number',
  };

  function showWhatsApp(wa, now) {
    const state = $('wa-state');
    const bubble = $('wa-bubble');
    const buttons = $('wa-buttons');
    bubble.className = 'bubble data';
    fill(buttons);
    if (!wa) {
      fill(state, h('span', { class: 'empty' }, 'This template has no WhatsApp part.'));
      fill(bubble);
      return;
    }
    const windowText = wa.window === 'open' ? 'inside the 24-hour window' : 'outside the 24-hour window';
    if (wa.suppressed) {
      fill(state, h('strong', {}, 'Not sent'), ' · ' + windowText);
      bubble.classList.add('suppressed');
      fill(bubble, 'Suppressed: ' + (SUPPRESSED[wa.reason] || wa.reason) + ' (' + wa.reason + ').');
      return;
    }
    fill(state,
      h('strong', {}, wa.kind === 'session' ? 'Session message' : 'Approved template'),
      ' · ' + windowText + (wa.contentKey ? ' · ' : ''),
      wa.contentKey ? h('code', {}, wa.contentKey) : null,
      ' · ' + wa.preview.type,
    );
    const p = wa.preview;
    const media = (p.media || []).map(httpsOnly).filter(Boolean);
    fill(bubble,
      ...media.map((src) => h('img', { src, alt: '', referrerpolicy: 'no-referrer' })),
      p.title ? h('span', { class: 'title' }, p.title) : null,
      waText(p.body),
      p.subtitle ? h('span', { class: 'subtitle' }, p.subtitle) : null,
      h('span', { class: 'time' }, clock(now)),
    );
    for (const b of p.buttons || []) {
      buttons.append(h('div', { class: 'wa-button', title: b.url || b.id || '' }, (b.type === 'URL' ? '↗ ' : '') + b.title));
    }
    if (p.list) {
      buttons.append(h('div', { class: 'wa-button' }, '☰ ' + p.list.button));
      buttons.append(h('ol', { class: 'wa-list' }, ...p.list.items.map((item) => h('li', { title: item.id }, item.item, item.description ? h('small', {}, item.description) : null))));
    }
  }

  // ---- .eml download ------------------------------------------------------------------------

  async function downloadEml() {
    let body;
    try {
      body = requestBody();
    } catch (err) {
      if (!(err instanceof PasteError)) throw err;
      showProblems(pasteProblem(err));
      return;
    }
    const res = await fetch(base + '/api/eml', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) {
      const data = await res.json().catch(() => ({}));
      showProblems(httpProblems(data.error || { code: 'http_' + res.status, message: res.statusText }));
      return;
    }
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
    const url = URL.createObjectURL(await res.blob());
    const link = h('a', { href: url, download: name ? name[1] : 'preview.eml', hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  // ---- live reload --------------------------------------------------------------------------

  function connect() {
    const live = $('live');
    const events = new EventSource(base + '/events');
    // After a reconnect the server may have restarted with its version count back at 1.
    let reconnected = false;
    events.addEventListener('open', () => {
      live.dataset.live = 'yes';
      live.textContent = 'live';
    });
    events.addEventListener('error', () => {
      // EventSource reconnects by itself; the first event after it tells whether anything changed.
      live.dataset.live = 'no';
      live.textContent = 'reconnecting…';
      reconnected = true;
    });
    events.addEventListener('templates', async (e) => {
      const { version } = JSON.parse(e.data);
      if (version === shownVersion && !reconnected) return;
      reconnected = false;
      await loadOptions();
      if (ui.profile.value !== PASTE || ui.json.value.trim()) await render();
    });
  }

  // ---- campaign progress ---------------------------------------------------------------------

  /** Polled, not streamed: progress lives in the store, which any worker on any machine writes. */
  const CAMPAIGNS_EVERY_MS = 1000;

  function campaignRow(p) {
    // Through: delivered, suppressed or failed (the CLI's bar, src/cli/campaign-progress.ts).
    const through = p.delivered + p.suppressed.total + p.failed.total;
    const percent = p.total === 0 ? 100 : Math.floor((through / p.total) * 100);
    return h(
      'li',
      { class: 'campaign', 'data-id': p.id, 'data-status': p.status, 'data-percent': percent },
      h('span', { class: 'campaign-id' }, p.id),
      h('progress', { max: p.total || 1, value: p.total === 0 ? 1 : through, 'aria-label': p.id + ' progress' }),
      h('span', { class: 'campaign-percent' }, percent + ' %'),
      h('span', { class: 'campaign-counts' }, `${p.status} · ${through}/${p.total} · ${p.delivered} delivered · ${p.suppressed.total} suppressed · ${p.failed.total} failed · ${p.deferred} deferred`),
    );
  }

  async function pollCampaigns() {
    try {
      const res = await fetch(base + '/api/campaigns', { cache: 'no-store' });
      if (res.ok) {
        const { campaigns } = await res.json();
        $('campaigns').hidden = campaigns.length === 0;
        fill($('campaign-list'), ...campaigns.map(campaignRow));
      }
    } catch {
      // The service is restarting: the next poll tries again.
    }
    setTimeout(pollCampaigns, CAMPAIGNS_EVERY_MS);
  }

  // ---- triggers -----------------------------------------------------------------------------

  function triggerRow(t) {
    return h(
      'li',
      { class: 'campaign', 'data-trigger': t.name },
      h('span', { class: 'campaign-id' }, t.name),
      h('span', { class: 'campaign-counts' }, `${t.enabled ? 'on' : 'off'} · ${t.template} · ${t.channels.join(' then ')}`),
      h('button', { type: 'button', class: 'simulate', 'data-trigger': t.name }, 'Simulate for this profile'),
      h('span', { class: 'trigger-channel' }, ''),
    );
  }

  async function loadTriggers() {
    try {
      const res = await fetch(base + '/api/triggers', { cache: 'no-store' });
      if (!res.ok) return;
      const { triggers } = await res.json();
      $('triggers').hidden = triggers.length === 0;
      fill($('trigger-list'), ...triggers.map(triggerRow));
    } catch {
      // No service behind the preview (npm run preview): no triggers to list.
    }
  }

  /** The message the trigger would send the chosen fixture profile, shown like any render. */
  async function simulate(name, row) {
    if (ui.profile.value === PASTE) return;
    const mine = ++seq;
    setState('rendering');
    const res = await fetch(base + '/api/triggers/simulate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ trigger: name, profile: ui.profile.value, now: ui.now.value }) });
    const data = await res.json();
    if (mine !== seq) return;
    if (!res.ok) return failed(httpProblems(data.error));
    row.querySelector('.trigger-channel').textContent = 'would send on ' + data.channel;
    show(data.render);
  }

  $('trigger-list').addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('.simulate');
    if (button) simulate(button.dataset.trigger, button.closest('li'));
  });

  // ---- wiring -------------------------------------------------------------------------------

  function syncPaste() {
    ui.paste.hidden = ui.profile.value !== PASTE;
  }

  ui.template.addEventListener('change', () => {
    fillVariants();
    render();
  });
  ui.profile.addEventListener('change', () => {
    syncPaste();
    render();
  });
  for (const select of [ui.locale, ui.variant, ui.now]) select.addEventListener('change', render);
  $('render-pasted').addEventListener('click', render);
  ui.json.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) render();
  });
  $('download-eml').addEventListener('click', downloadEml);
  $('amp-errors').addEventListener('click', (e) => {
    const line = e.target.closest && e.target.closest('.jump');
    if (!line) return;
    const target = $('amp-L' + line.dataset.line);
    if (!target) return;
    target.scrollIntoView({ block: 'center' });
    target.classList.add('flash');
    setTimeout(() => target.classList.remove('flash'), 1200);
  });
  $('controls').addEventListener('submit', (e) => e.preventDefault());

  readHash();
  syncPaste();
  render();
  connect();
  pollCampaigns();
  loadTriggers();
})();
