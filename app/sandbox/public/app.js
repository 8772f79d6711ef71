/*
 * The Kanshi sandbox page: renders what Kanshi posted to the local
 * Slack-compatible API and lets you click, type and submit like in Slack.
 *
 * Plain browser JavaScript (ES2020), no dependencies. Every piece of text that
 * comes from the server (and so possibly from a GuardDuty finding) reaches the
 * DOM only through text nodes and attributes we name ourselves: there is no
 * innerHTML and no eval anywhere in this file.
 */
// biome-ignore lint/suspicious/noRedundantUseStrict: the page loads this as a classic script, not a module.
'use strict';

(() => {
  const API = '/sandbox/api';
  const POLL_MS = 700;
  const STORE_USER = 'kanshi-sandbox-user';
  const STORE_CHANNEL = 'kanshi-sandbox-channel';

  /** Everything the page knows; the server's state is `state`, the rest is ours. */
  const ui = {
    state: null,
    /** The version and user of the last render: a poll with both unchanged renders nothing. */
    renderedVersion: null,
    renderedUser: null,
    renderedChannel: null,
    user: null,
    channel: null,
    /** Per channel: how many messages the reader has seen, for the unread dot. */
    seen: new Map(),
    seenBaselineUser: null,
    /** Threads the reader opened, as `channel:ts`. */
    openThreads: new Set(),
    /** Ephemerals the reader dismissed (local only, like Slack). */
    dismissed: new Set(),
    /** Rendered messages by key, reused while the message is unchanged. */
    nodes: new Map(),
    contextSig: '',
    channelButtons: new Map(),
    usersSig: '',
    /** The open modal: { id, sig, root, dialog, inputs, blockEls, generalError, submitButton }. */
    modal: null,
    /** The open confirm dialog: { root, deny }. */
    confirm: null,
    polling: false,
    pollAgain: false,
    timer: 0,
    connected: null,
  };

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------------------
  // DOM helpers
  // ---------------------------------------------------------------------------

  /**
   * Creates an element. Attribute names always come from this file; values
   * may come from the server and are set as attributes or text, never parsed.
   */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const key of Object.keys(attrs)) {
        const v = attrs[key];
        if (v === undefined || v === null || v === false) continue;
        if (key === 'class') el.className = v;
        else if (key === 'text') el.textContent = v;
        else if (key === 'dataset') {
          for (const d of Object.keys(v)) if (v[d] !== undefined && v[d] !== null) el.dataset[d] = String(v[d]);
        } else if (key.startsWith('on')) el.addEventListener(key.slice(2), v);
        else el.setAttribute(key, v === true ? '' : String(v));
      }
    }
    appendAll(el, children);
    return el;
  }

  function appendAll(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
  }

  /** Puts `nodes` into `parent` in order, moving as few existing nodes as possible. */
  function reconcile(parent, nodes) {
    let cur = parent.firstChild;
    for (const n of nodes) {
      if (n === cur) {
        cur = cur.nextSibling;
        continue;
      }
      parent.insertBefore(n, cur);
    }
    while (cur) {
      const next = cur.nextSibling;
      parent.removeChild(cur);
      cur = next;
    }
  }

  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;

  const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const str = (v) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
  const arr = (v) => (Array.isArray(v) ? v : []);

  // ---------------------------------------------------------------------------
  // Slack text: emoji, entities, dates, mrkdwn
  // ---------------------------------------------------------------------------

  const EMOJI = new Map([
    ['red_circle', '🔴'],
    ['large_orange_circle', '🟠'],
    ['large_yellow_circle', '🟡'],
    ['large_blue_circle', '🔵'],
    ['large_green_circle', '🟢'],
    ['white_circle', '⚪'],
    ['black_circle', '⚫'],
    ['warning', '⚠️'],
    ['white_check_mark', '✅'],
    ['heavy_check_mark', '✔️'],
    ['x', '❌'],
    ['bell', '🔔'],
    ['no_bell', '🔕'],
    ['mute', '🔇'],
    ['sos', '🆘'],
    ['no_entry', '⛔'],
    ['mag', '🔍'],
    ['hourglass_flowing_sand', '⏳'],
    ['hourglass', '⌛'],
    ['file_cabinet', '🗄️'],
    ['bust_in_silhouette', '👤'],
    ['busts_in_silhouette', '👥'],
    ['repeat', '🔁'],
    ['eyes', '👀'],
    ['test_tube', '🧪'],
    ['scales', '⚖️'],
    ['rotating_light', '🚨'],
    ['package', '📦'],
    ['new', '🆕'],
    ['cyclone', '🌀'],
    ['compass', '🧭'],
    ['lock', '🔒'],
    ['unlock', '🔓'],
    ['key', '🔑'],
    ['memo', '📝'],
    ['link', '🔗'],
    ['information_source', 'ℹ️'],
    ['bar_chart', '📊'],
    ['chart_with_upwards_trend', '📈'],
    ['clock1', '🕐'],
    ['alarm_clock', '⏰'],
    ['calendar', '📆'],
    ['shield', '🛡️'],
    ['fire', '🔥'],
    ['tada', '🎉'],
    ['thumbsup', '👍'],
    ['+1', '👍'],
    ['wave', '👋'],
    ['robot_face', '🤖'],
    ['arrow_right', '➡️'],
    ['speech_balloon', '💬'],
    ['zzz', '💤'],
    ['question', '❓'],
    ['exclamation', '❗'],
    ['stopwatch', '⏱️'],
    ['wrench', '🔧'],
    ['globe_with_meridians', '🌐'],
    ['cloud', '☁️'],
  ]);

  /** Known `:shortcodes:` become emoji; anything else (e.g. parts of an IPv6 address) stays as typed. */
  function emojify(text) {
    return text.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI.get(name) || m);
  }

  const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };
  /** Slack escapes only &, < and >; one pass, so "&amp;lt;" stays "&lt;". */
  function decodeEntities(text) {
    return text.replace(/&(?:amp|lt|gt);/g, (m) => ENTITIES[m]);
  }

  /** A plain_text object: no markup, emoji unless `emoji: false`. */
  function plainText(obj) {
    if (!isObject(obj)) return str(obj);
    const text = str(obj.text);
    return obj.emoji === false ? text : emojify(text);
  }

  function safeHttpUrl(raw) {
    try {
      const url = new URL(raw);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch {
      return null;
    }
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }

  function prettyDay(d, fallback) {
    const now = new Date();
    const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
    if (sameDay(d, now)) return 'today';
    if (sameDay(d, yesterday)) return 'yesterday';
    if (sameDay(d, tomorrow)) return 'tomorrow';
    return fallback;
  }

  function agoText(d) {
    const seconds = Math.round((d.getTime() - Date.now()) / 1000);
    const abs = Math.abs(seconds);
    if (abs < 45) return seconds <= 0 ? 'just now' : 'in a few seconds';
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
    if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
    if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
    if (abs < 86400 * 30) return rtf.format(Math.round(seconds / 86400), 'day');
    if (abs < 86400 * 365) return rtf.format(Math.round(seconds / (86400 * 30)), 'month');
    return rtf.format(Math.round(seconds / (86400 * 365)), 'year');
  }

  /** Slack's `<!date^seconds^format|fallback>` in the reader's own time zone. */
  function formatSlackDate(seconds, format) {
    const d = new Date(seconds * 1000);
    const dateOf = (opts) => d.toLocaleDateString(undefined, opts);
    const long = { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' };
    const medium = { year: 'numeric', month: 'long', day: 'numeric' };
    const short = { year: 'numeric', month: 'short', day: 'numeric' };
    const pad = (n) => String(n).padStart(2, '0');
    const tokens = new Map(
      Object.entries({
        date_num: () => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
        date: () => dateOf(medium),
        date_short: () => dateOf(short),
        date_long: () => dateOf(long),
        date_pretty: () => prettyDay(d, dateOf(medium)),
        date_short_pretty: () => prettyDay(d, dateOf(short)),
        date_long_pretty: () => prettyDay(d, dateOf(long)),
        time: () => d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }),
        time_secs: () => d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' }),
        ago: () => agoText(d),
      }),
    );
    return format.replace(/\{([a-z_]+)\}/g, (m, name) => (tokens.has(name) ? tokens.get(name)() : m));
  }

  function splitPipe(raw) {
    const i = raw.indexOf('|');
    return i < 0 ? [raw, null] : [raw.slice(0, i), raw.slice(i + 1)];
  }

  function userName(id) {
    const u = arr(ui.state?.users).find((x) => x && x.id === id);
    return u ? str(u.name) : null;
  }

  function channelName(id) {
    const c = arr(ui.state?.channels).find((x) => x && x.id === id);
    return c ? str(c.name) : null;
  }

  /** One `<…>` token of mrkdwn: a mention, a date, a link, or (when unsafe or unknown) its text. */
  function renderToken(raw) {
    const first = raw[0];
    if (first === '@') {
      const [id, label] = splitPipe(raw.slice(1));
      const name = userName(id);
      return h('span', {
        class: 'mention',
        title: name || undefined,
        dataset: { userId: id },
        text: `@${label ? decodeEntities(label) : id}`,
      });
    }
    if (first === '#') {
      const [id, label] = splitPipe(raw.slice(1));
      const name = channelName(id) || (label ? decodeEntities(label) : id);
      if (/^[A-Z0-9]+$/.test(id)) {
        return h('a', {
          class: 'mention channel-mention',
          href: `#${id}`,
          dataset: { channelId: id },
          text: `#${name}`,
        });
      }
      return h('span', { class: 'mention', text: `#${name}` });
    }
    if (first === '!') {
      const [main, fallback] = splitPipe(raw.slice(1));
      if (main === 'here' || main === 'channel' || main === 'everyone') {
        return h('span', { class: 'mention mention-broadcast', text: `@${main}` });
      }
      if (main.startsWith('subteam^')) {
        const label = fallback ? decodeEntities(fallback) : main.slice('subteam^'.length);
        return h('span', { class: 'mention', text: label.startsWith('@') ? label : `@${label}` });
      }
      if (main.startsWith('date^')) {
        const parts = main.split('^');
        const seconds = Number(parts[1]);
        const fallbackText = fallback ? decodeEntities(fallback) : '';
        if (!/^\d+$/.test(parts[1] || '') || !Number.isFinite(seconds) || parts.length < 3) {
          return document.createTextNode(fallbackText || decodeEntities(raw));
        }
        const el = h('time', {
          class: 'slack-date',
          datetime: new Date(seconds * 1000).toISOString(),
          title: fallbackText || undefined,
          text: formatSlackDate(seconds, decodeEntities(parts[2])),
        });
        const link = parts[3] ? safeHttpUrl(decodeEntities(parts[3])) : null;
        return link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, el) : el;
      }
      return document.createTextNode(fallback ? decodeEntities(fallback) : `@${decodeEntities(main)}`);
    }
    const [target, label] = splitPipe(raw);
    const url = safeHttpUrl(decodeEntities(target));
    const text = emojify(decodeEntities(label !== null && label !== '' ? label : target));
    if (!url) return document.createTextNode(text);
    return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', title: url, text });
  }

  /** Display text of a token inside code, where Slack shows markup as written but mentions by name. */
  function tokenText(raw) {
    return renderToken(raw).textContent || '';
  }

  // Placeholders for tokens and code spans while the formatting markers are matched.
  const PH_OPEN = '\uE000';
  const PH_CLOSE = '\uE001';
  const PH_SPLIT = /\uE000(\d+)\uE001/;
  const WORD = /[\p{L}\p{N}]/u;

  function isWordChar(c) {
    return c !== undefined && WORD.test(c);
  }

  /** Text with placeholders: even pieces are text, odd pieces are indexes into `atoms`. */
  function appendTextWithAtoms(parent, text, atoms) {
    text.split(PH_SPLIT).forEach((piece, i) => {
      if (i % 2 === 0) {
        if (piece) parent.append(emojify(decodeEntities(piece)));
        return;
      }
      const atom = atoms[Number(piece)];
      if (atom && atom.kind === 'code') parent.append(h('code', { text: decodeEntities(atom.raw) }));
      else if (atom) parent.append(renderToken(atom.raw));
    });
  }

  const MARKERS = new Map([
    ['*', 'strong'],
    ['_', 'em'],
    ['~', 's'],
  ]);

  function findClose(text, open, marker) {
    for (let j = open + 2; j < text.length; j++) {
      if (text[j] !== marker) continue;
      if (/\s/.test(text[j - 1])) continue;
      if (isWordChar(text[j + 1])) continue;
      return j;
    }
    return -1;
  }

  /** *bold*, _italic_ and ~strike~, nested, on one line whose tokens are placeholders. */
  function appendFormatted(parent, text, atoms) {
    let buf = '';
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      const tag = MARKERS.get(c) || null;
      if (tag && !isWordChar(text[i - 1]) && text[i + 1] !== undefined && !/\s/.test(text[i + 1])) {
        const j = text[i + 1] === c ? -1 : findClose(text, i, c);
        if (j > 0) {
          if (buf) appendTextWithAtoms(parent, buf, atoms);
          buf = '';
          const el = document.createElement(tag);
          appendFormatted(el, text.slice(i + 1, j), atoms);
          parent.append(el);
          i = j + 1;
          continue;
        }
      }
      buf += c;
      i++;
    }
    if (buf) appendTextWithAtoms(parent, buf, atoms);
  }

  /** One line of mrkdwn (entities still encoded) into `parent`. */
  function appendInline(parent, line) {
    const src = line.replace(/[\uE000\uE001]/g, '\uFFFD');
    const atoms = [];
    let out = '';
    let i = 0;
    while (i < src.length) {
      const c = src[i];
      if (c === '<' || c === '`') {
        const j = src.indexOf(c === '<' ? '>' : '`', i + 1);
        const inner = j > i + 1 ? src.slice(i + 1, j) : '';
        if (inner && (c === '`' || !inner.includes('<'))) {
          atoms.push({ kind: c === '<' ? 'token' : 'code', raw: inner });
          out += `${PH_OPEN}${atoms.length - 1}${PH_CLOSE}`;
          i = j + 1;
          continue;
        }
      }
      out += c;
      i++;
    }
    appendFormatted(parent, out, atoms);
  }

  /** Text inside a code block: entities decoded, tokens shown by their display text, nothing formatted. */
  function codeText(raw) {
    return decodeEntities(raw.replace(/<([^<>\n]+)>/g, (_match, inner) => tokenText(inner)));
  }

  /**
   * Renders Slack mrkdwn: ```code blocks```, > quotes, `code`, *bold*,
   * _italic_, ~strike~, links, mentions, dates and emoji. Text only.
   */
  function mrkdwn(text) {
    const root = h('div', { class: 'mrkdwn' });
    const parts = str(text).split('```');
    // Odd parts are code blocks; an unclosed fence is shown as text.
    if (parts.length % 2 === 0) parts[parts.length - 2] += `\`\`\`${parts.pop()}`;
    parts.forEach((raw, index) => {
      // The newlines around a fence belong to the fence.
      let part = raw;
      if (index > 0) part = part.replace(/^\n/, '');
      if (index < parts.length - 1) part = part.replace(/\n$/, '');
      if (index % 2 === 1) {
        root.append(h('pre', { class: 'code-block', text: codeText(part) }));
        return;
      }
      const lines = part.split('\n');
      let quote = null;
      let para = null;
      for (const line of lines) {
        // Only a literal ">" quotes: escaped text ("&gt;") stays text.
        const quoted = /^> ?/.exec(line);
        if (quoted) {
          if (!quote) {
            quote = h('blockquote');
            root.append(quote);
            para = null;
          } else quote.append(h('br'));
          appendInline(quote, line.slice(quoted[0].length));
          continue;
        }
        quote = null;
        if (!para) {
          para = h('div', { class: 'mrkdwn-line' });
          root.append(para);
        } else para.append(h('br'));
        appendInline(para, line);
      }
    });
    return root;
  }

  /** A text object of either kind. */
  function textObject(obj) {
    if (!isObject(obj)) return h('span', { text: str(obj) });
    if (obj.type === 'mrkdwn') return mrkdwn(obj.text);
    return h('span', { class: 'plain', text: plainText(obj) });
  }

  // ---------------------------------------------------------------------------
  // Server calls
  // ---------------------------------------------------------------------------

  async function api(method, path, body) {
    const init = { method, cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(`${API}${path}`, init);
    const raw = await res.text();
    let data = raw;
    try {
      data = raw ? JSON.parse(raw) : null;
    } catch {
      // Not JSON: keep the text, it is shown as text.
    }
    return { status: res.status, ok: res.ok, data };
  }

  function describeFailure(r) {
    if (isObject(r.data) && typeof r.data.error === 'string') return `${r.status}: ${r.data.error}`;
    if (typeof r.data === 'string' && r.data) return `${r.status}: ${r.data.slice(0, 200)}`;
    return `HTTP ${r.status}`;
  }

  let toastTimer = 0;
  function toast(message, kind) {
    const el = $('toast');
    el.textContent = message;
    el.dataset.kind = kind || 'error';
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      el.hidden = true;
    }, 6000);
  }

  // ---------------------------------------------------------------------------
  // Buttons and confirm dialogs
  // ---------------------------------------------------------------------------

  /** Sends a button's action: `ctx` is { channel, messageTs } for messages or { viewId } for modals. */
  async function sendClick(element, blockId, ctx, buttonEl) {
    const body = { user: ui.user };
    if (ctx.viewId) body.viewId = ctx.viewId;
    else {
      body.channel = ctx.channel;
      if (ctx.messageTs) body.messageTs = ctx.messageTs;
    }
    body.actionId = str(element.action_id);
    if (element.value !== undefined) body.value = str(element.value);
    if (blockId) body.blockId = blockId;
    if (typeof element.url === 'string') {
      const url = safeHttpUrl(element.url);
      if (url) window.open(url, '_blank', 'noopener,noreferrer');
    }
    buttonEl.disabled = true;
    buttonEl.setAttribute('aria-busy', 'true');
    try {
      const r = await api('POST', '/click', body);
      if (!r.ok || (isObject(r.data) && r.data.ok === false)) toast(`The click failed (${describeFailure(r)}).`);
    } catch (err) {
      toast(`The click could not be sent: ${err.message}`);
    } finally {
      buttonEl.disabled = false;
      buttonEl.removeAttribute('aria-busy');
      poll();
    }
  }

  function renderButton(element, blockId, ctx) {
    const style = element.style === 'primary' || element.style === 'danger' ? element.style : null;
    const label = plainText(element.text);
    const btn = h('button', {
      type: 'button',
      class: `sk-btn${style ? ` sk-btn-${style}` : ''}`,
      'aria-label': element.accessibility_label ? str(element.accessibility_label) : undefined,
      dataset: { actionId: str(element.action_id), value: element.value, blockId: blockId || undefined },
      text: label,
    });
    btn.addEventListener('click', () => {
      if (isObject(element.confirm)) openConfirm(element.confirm, () => sendClick(element, blockId, ctx, btn));
      else sendClick(element, blockId, ctx, btn);
    });
    return btn;
  }

  function openConfirm(confirm, onConfirm) {
    closeConfirm();
    const title = plainText(confirm.title) || 'Are you sure?';
    const danger = confirm.style === 'danger';
    const deny = h('button', { type: 'button', class: 'sk-btn', text: plainText(confirm.deny) || 'Cancel' });
    const yes = h('button', {
      type: 'button',
      class: `sk-btn ${danger ? 'sk-btn-danger' : 'sk-btn-primary'}`,
      text: plainText(confirm.confirm) || 'Yes',
    });
    const dialog = h(
      'div',
      { class: 'dialog confirm', role: 'alertdialog', 'aria-modal': 'true', 'aria-label': title },
      h('div', { class: 'dialog-header' }, h('h2', { class: 'dialog-title', text: title })),
      h('div', { class: 'dialog-body' }, confirm.text ? textObject(confirm.text) : null),
      h('div', { class: 'dialog-footer' }, deny, yes),
    );
    const root = h('div', { class: 'overlay overlay-confirm' }, dialog);
    deny.addEventListener('click', closeConfirm);
    yes.addEventListener('click', () => {
      closeConfirm();
      onConfirm();
    });
    root.addEventListener('mousedown', (e) => {
      if (e.target === root) closeConfirm();
    });
    ui.confirm = { root, deny, returnFocus: document.activeElement };
    $('modal-root').append(root);
    updateInert();
    deny.focus();
  }

  function closeConfirm() {
    if (!ui.confirm) return;
    const { root, returnFocus } = ui.confirm;
    ui.confirm = null;
    root.remove();
    updateInert();
    if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
  }

  /** While a dialog is open, what lies under it can be neither clicked nor read by assistive technology. */
  function updateInert() {
    const workspace = $('workspace');
    const blocked = Boolean(ui.modal || ui.confirm);
    workspace.inert = blocked;
    if (blocked) workspace.setAttribute('aria-hidden', 'true');
    else workspace.removeAttribute('aria-hidden');
    if (ui.modal) {
      ui.modal.root.inert = Boolean(ui.confirm);
      if (ui.confirm) ui.modal.root.setAttribute('aria-hidden', 'true');
      else ui.modal.root.removeAttribute('aria-hidden');
    }
  }

  // ---------------------------------------------------------------------------
  // Blocks
  // ---------------------------------------------------------------------------

  function unsupported(what) {
    return h('span', { class: 'unsupported', text: `(${what} is not shown in the sandbox)` });
  }

  function renderElement(element, blockId, ctx) {
    if (!isObject(element)) return null;
    if (element.type === 'button') return renderButton(element, blockId, ctx);
    if (element.type === 'image') return h('span', { class: 'image-alt', text: `🖼 ${str(element.alt_text)}` });
    return unsupported(str(element.type) || 'element');
  }

  /** Blocks of a message or a modal. Input blocks register their controls in `ctx.inputs` (modals only). */
  function renderBlocks(blocks, ctx) {
    const out = [];
    arr(blocks).forEach((block, index) => {
      if (!isObject(block)) return;
      const blockId = typeof block.block_id === 'string' ? block.block_id : undefined;
      const el = renderBlock(block, blockId, ctx, index);
      if (!el) return;
      el.classList.add('block', `block-${str(block.type).replace(/[^a-z_]/g, '') || 'unknown'}`);
      el.dataset.blockType = str(block.type);
      if (blockId) el.dataset.blockId = blockId;
      out.push(el);
    });
    return out;
  }

  function renderBlock(block, blockId, ctx, index) {
    switch (block.type) {
      case 'header':
        return h('h3', { class: 'block-header-text', text: plainText(block.text) });
      case 'section': {
        const main = h('div', { class: 'section-main' });
        if (block.text) main.append(textObject(block.text));
        if (Array.isArray(block.fields) && block.fields.length > 0) {
          main.append(
            h(
              'div',
              { class: 'fields' },
              block.fields.map((f) => h('div', { class: 'field' }, textObject(f))),
            ),
          );
        }
        const accessory = isObject(block.accessory) ? renderElement(block.accessory, blockId, ctx) : null;
        return h('div', {}, main, accessory ? h('div', { class: 'accessory' }, accessory) : null);
      }
      case 'context':
        return h(
          'div',
          {},
          arr(block.elements).map((e) => {
            if (!isObject(e)) return null;
            if (e.type === 'image') return h('span', { class: 'context-item image-alt', text: `🖼 ${str(e.alt_text)}` });
            return h('span', { class: 'context-item' }, textObject(e));
          }),
        );
      case 'divider':
        return h('hr');
      case 'actions':
        return h(
          'div',
          {},
          arr(block.elements).map((e) => renderElement(e, blockId, ctx)),
        );
      case 'image':
        return h(
          'figure',
          {},
          block.title ? h('figcaption', { text: plainText(block.title) }) : null,
          h('div', { class: 'image-alt image-box', text: `🖼 ${str(block.alt_text) || 'image'}` }),
        );
      case 'input':
        return ctx.inputs ? renderInput(block, blockId || `block_${index}`, ctx) : unsupported('An input');
      case 'rich_text':
        return h('div', { class: 'mrkdwn' }, richTextPlain(block));
      default:
        return h('div', {}, unsupported(`A ${str(block.type) || 'block'} block`));
    }
  }

  /** rich_text is not something Kanshi sends; its words are shown as plain text so nothing is lost. */
  function richTextPlain(node) {
    if (!isObject(node)) return '';
    if (typeof node.text === 'string') return node.text;
    if (node.type === 'link') return str(node.text || node.url);
    if (node.type === 'user') return `@${str(node.user_id)}`;
    if (node.type === 'channel') return `#${channelName(str(node.channel_id)) || str(node.channel_id)}`;
    const inner = arr(node.elements).map(richTextPlain).join('');
    return node.type === 'rich_text_section' || node.type === 'rich_text_preformatted' ? `${inner}\n` : inner;
  }

  // ---------------------------------------------------------------------------
  // Modal inputs
  // ---------------------------------------------------------------------------

  function optionText(o) {
    return isObject(o) ? plainText(o.text) : '';
  }

  function optionList(element) {
    const flat = arr(element.options).filter(isObject);
    for (const g of arr(element.option_groups)) if (isObject(g)) flat.push(...arr(g.options).filter(isObject));
    return flat;
  }

  function selectOptions(select, element, placeholder) {
    select.append(h('option', { value: '', text: placeholder }));
    if (Array.isArray(element.option_groups)) {
      for (const g of element.option_groups) {
        if (!isObject(g)) continue;
        select.append(
          h(
            'optgroup',
            { label: plainText(g.label) },
            arr(g.options).map((o) => (isObject(o) ? h('option', { value: str(o.value), text: optionText(o) }) : null)),
          ),
        );
      }
    } else {
      for (const o of arr(element.options)) {
        if (isObject(o)) select.append(h('option', { value: str(o.value), text: optionText(o) }));
      }
    }
  }

  /**
   * An input block: a label, the control, a hint, and a place for the error.
   * Returns the block element; the control is registered in ctx.inputs with a
   * `read()` that gives Slack's view.state.values entry and `get/set` to keep
   * what was typed when the view is updated.
   */
  function renderInput(block, blockId, ctx) {
    const element = isObject(block.element) ? block.element : {};
    const actionId = str(element.action_id) || `action_${blockId}`;
    const type = str(element.type);
    const controlId = nextId('input');
    const labelId = nextId('label');
    const hintId = nextId('hint');
    const labelText = plainText(block.label);
    const placeholder = element.placeholder ? plainText(element.placeholder) : '';
    const optional = block.optional === true;
    const describedBy = block.hint ? hintId : undefined;
    let control;
    let entry;

    if (type === 'plain_text_input') {
      const attrs = {
        id: controlId,
        name: actionId,
        class: 'text-input',
        placeholder: placeholder || undefined,
        maxlength: Number.isInteger(element.max_length) ? element.max_length : undefined,
        minlength: Number.isInteger(element.min_length) ? element.min_length : undefined,
        'aria-describedby': describedBy,
        'aria-required': optional ? undefined : 'true',
      };
      control = element.multiline ? h('textarea', { ...attrs, rows: 4 }) : h('input', { ...attrs, type: 'text' });
      if (typeof element.initial_value === 'string') control.value = element.initial_value;
      entry = {
        read: () => ({ type, value: control.value === '' ? null : control.value }),
        get: () => control.value,
        set: (v) => {
          control.value = v;
        },
      };
    } else if (
      type === 'static_select' ||
      type === 'conversations_select' ||
      type === 'channels_select' ||
      type === 'users_select' ||
      type === 'external_select'
    ) {
      control = h('select', { id: controlId, name: actionId, class: 'select', 'aria-describedby': describedBy });
      if (type === 'static_select' || type === 'external_select') {
        selectOptions(control, element, placeholder || 'Select an option');
        if (isObject(element.initial_option)) control.value = str(element.initial_option.value);
      } else {
        const users = type === 'users_select';
        const list = users ? arr(ui.state?.users) : arr(ui.state?.channels);
        control.append(
          h('option', { value: '', text: placeholder || (users ? 'Select a person' : 'Select a channel') }),
        );
        for (const item of list) {
          if (!isObject(item)) continue;
          control.append(h('option', { value: str(item.id), text: users ? str(item.name) : `#${str(item.name)}` }));
        }
        const initial = element.initial_conversation || element.initial_channel || element.initial_user;
        if (typeof initial === 'string') control.value = initial;
      }
      const options = optionList(element);
      entry = {
        read: () => {
          const v = control.value;
          if (type === 'conversations_select') return { type, selected_conversation: v || null };
          if (type === 'channels_select') return { type, selected_channel: v || null };
          if (type === 'users_select') return { type, selected_user: v || null };
          const o = options.find((x) => str(x.value) === v);
          return {
            type,
            selected_option: v ? { text: { type: 'plain_text', text: o ? optionText(o) : v }, value: v } : null,
          };
        },
        get: () => control.value,
        set: (v) => {
          control.value = v;
        },
      };
    } else if (type === 'multi_static_select') {
      control = h('select', {
        id: controlId,
        name: actionId,
        class: 'select',
        multiple: true,
        'aria-describedby': describedBy,
      });
      selectOptions(control, element, placeholder || 'Select options');
      control.firstChild.remove();
      const initial = new Set(arr(element.initial_options).map((o) => str(o?.value)));
      for (const opt of control.querySelectorAll('option')) opt.selected = initial.has(opt.value);
      const options = optionList(element);
      const chosen = () => Array.from(control.selectedOptions, (o) => o.value);
      entry = {
        read: () => ({
          type,
          selected_options: chosen().map((v) => {
            const o = options.find((x) => str(x.value) === v);
            return { text: { type: 'plain_text', text: o ? optionText(o) : v }, value: v };
          }),
        }),
        get: () => chosen(),
        set: (vs) => {
          for (const opt of control.querySelectorAll('option')) opt.selected = vs.includes(opt.value);
        },
      };
    } else if (type === 'checkboxes' || type === 'radio_buttons') {
      const radio = type === 'radio_buttons';
      const options = arr(element.options).filter(isObject);
      const initial = radio
        ? new Set(isObject(element.initial_option) ? [str(element.initial_option.value)] : [])
        : new Set(arr(element.initial_options).map((o) => str(o?.value)));
      const groupName = nextId('group');
      const boxes = options.map((o) => {
        const input = h('input', {
          type: radio ? 'radio' : 'checkbox',
          name: groupName,
          value: str(o.value),
          id: nextId('option'),
        });
        input.checked = initial.has(str(o.value));
        // The description stays outside the label, so the option's accessible name is its text alone.
        const label = h(
          'div',
          { class: 'choice' },
          h('label', { for: input.id }, input, h('span', { class: 'choice-text' }, textObject(o.text))),
          o.description ? h('div', { class: 'choice-description' }, textObject(o.description)) : null,
        );
        return { input, label, option: o };
      });
      control = h(
        'div',
        {
          class: 'choices',
          role: radio ? 'radiogroup' : 'group',
          'aria-labelledby': labelId,
          'aria-describedby': describedBy,
          id: controlId,
        },
        boxes.map((b) => b.label),
      );
      const selected = () => boxes.filter((b) => b.input.checked);
      const asOption = (b) => ({
        text: isObject(b.option.text) ? b.option.text : { type: 'plain_text', text: str(b.option.text) },
        value: str(b.option.value),
      });
      entry = {
        read: () => {
          if (radio) {
            const b = selected()[0];
            return { type, selected_option: b ? asOption(b) : null };
          }
          return { type, selected_options: selected().map(asOption) };
        },
        get: () => selected().map((b) => b.input.value),
        set: (vs) => {
          for (const b of boxes) b.input.checked = vs.includes(b.input.value);
        },
      };
    } else {
      control = unsupported(`A ${type || 'missing'} input`);
      entry = { read: () => null, get: () => null, set: () => {} };
    }

    const grouped = type === 'checkboxes' || type === 'radio_buttons';
    const label = grouped
      ? h('div', { class: 'input-label', id: labelId, text: labelText })
      : h('label', { class: 'input-label', id: labelId, for: controlId, text: labelText });
    const errorEl = h('div', { class: 'input-error', role: 'alert', hidden: true, dataset: { errorFor: blockId } });
    const el = h(
      'div',
      { class: 'input-block' },
      h(
        'div',
        { class: 'input-label-row' },
        label,
        optional ? h('span', { class: 'optional', text: '(optional)' }) : null,
      ),
      control,
      block.hint ? h('div', { class: 'input-hint', id: hintId, text: plainText(block.hint) }) : null,
      errorEl,
    );
    ctx.inputs.push({ blockId, actionId, type, control, errorEl, ...entry });
    return el;
  }

  // ---------------------------------------------------------------------------
  // Modals
  // ---------------------------------------------------------------------------

  /** Shows the newest open view; leaves an unchanged one alone so what was typed stays. */
  function syncModal() {
    const views = arr(ui.state?.views).filter((v) => isObject(v) && isObject(v.view));
    const top = views[views.length - 1];
    if (!top) {
      closeModalDom();
      return;
    }
    const sig = JSON.stringify(top.view);
    if (ui.modal && ui.modal.id === top.id && ui.modal.sig === sig) return;
    // Same view updated in place: keep what was typed into inputs that are still there.
    const kept = new Map();
    if (ui.modal && ui.modal.id === top.id) {
      for (const input of ui.modal.inputs) kept.set(`${input.blockId}/${input.actionId}/${input.type}`, input.get());
    }
    // Focus goes to the first input of a new view, and stays on the same input of an updated one.
    let focusKey = null;
    if (ui.modal && ui.modal.id === top.id) {
      const focused = ui.modal.inputs.find((x) => x.control.contains(document.activeElement));
      focusKey = focused ? `${focused.blockId}/${focused.actionId}/${focused.type}` : '';
    }
    const returnFocus = ui.modal ? ui.modal.returnFocus : document.activeElement;
    closeModalDom(true);
    openModalDom(top, sig, kept, focusKey, returnFocus);
  }

  function openModalDom(entry, sig, kept, focusKey, returnFocus) {
    const view = entry.view;
    const viewId = str(entry.id);
    const title = plainText(view.title) || 'Modal';
    const ctx = { viewId, inputs: [] };
    const blocks = renderBlocks(view.blocks, ctx);
    for (const input of ctx.inputs) {
      const key = `${input.blockId}/${input.actionId}/${input.type}`;
      if (kept.has(key) && kept.get(key) !== null) input.set(kept.get(key));
    }
    const generalError = h('div', { class: 'input-error general-error', role: 'alert', hidden: true });
    const form = h('form', { class: 'dialog-body', novalidate: true, id: nextId('modal-form') }, generalError, blocks);
    const closeText = plainText(view.close) || 'Cancel';
    const closeButton = h('button', { type: 'button', class: 'sk-btn', text: closeText });
    const submitButton = view.submit
      ? h('button', { type: 'submit', form: form.id, class: 'sk-btn sk-btn-primary', text: plainText(view.submit) })
      : null;
    // The × duplicates the footer's close button: hidden from assistive technology and tab order.
    const cross = h('button', {
      type: 'button',
      class: 'dialog-x',
      'aria-hidden': 'true',
      tabindex: '-1',
      title: closeText,
      text: '×',
    });
    const dialog = h(
      'div',
      {
        class: 'dialog modal',
        role: 'dialog',
        'aria-modal': 'true',
        'aria-label': title,
        tabindex: '-1',
        dataset: { viewId, callbackId: typeof view.callback_id === 'string' ? view.callback_id : undefined },
      },
      h('div', { class: 'dialog-header' }, h('h2', { class: 'dialog-title', text: title }), cross),
      form,
      h('div', { class: 'dialog-footer' }, closeButton, submitButton),
    );
    const root = h('div', { class: 'overlay' }, dialog);
    const modal = {
      id: entry.id,
      sig,
      root,
      dialog,
      inputs: ctx.inputs,
      generalError,
      submitButton,
      returnFocus,
    };
    closeButton.addEventListener('click', () => closeView(modal));
    cross.addEventListener('click', () => closeView(modal));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (submitButton) submitView(modal);
    });
    ui.modal = modal;
    $('modal-root').prepend(root);
    updateInert();
    if (focusKey === null) {
      const first = dialog.querySelector('input, textarea, select');
      (first || dialog).focus();
    } else {
      const same = modal.inputs.find((x) => `${x.blockId}/${x.actionId}/${x.type}` === focusKey);
      const target = same ? same.control.querySelector('input') || same.control : dialog;
      target.focus();
    }
  }

  function closeModalDom(replacing) {
    if (!ui.modal) return;
    const { root, returnFocus } = ui.modal;
    ui.modal = null;
    root.remove();
    if (!replacing) {
      updateInert();
      if (returnFocus && document.contains(returnFocus) && !ui.confirm) returnFocus.focus();
    }
  }

  async function closeView(modal) {
    try {
      const r = await api('POST', '/close', { user: ui.user, viewId: str(modal.id) });
      if (!r.ok) toast(`Closing failed (${describeFailure(r)}).`);
    } catch (err) {
      toast(`Closing failed: ${err.message}`);
    } finally {
      poll();
    }
  }

  function showErrors(modal, errors) {
    for (const input of modal.inputs) {
      input.errorEl.hidden = true;
      input.errorEl.textContent = '';
      if (input.control.removeAttribute) input.control.removeAttribute('aria-invalid');
    }
    modal.generalError.hidden = true;
    modal.generalError.textContent = '';
    const orphans = [];
    for (const blockId of Object.keys(errors || {})) {
      const message = str(errors[blockId]);
      const input = modal.inputs.find((x) => x.blockId === blockId);
      if (!input) {
        orphans.push(message);
        continue;
      }
      input.errorEl.textContent = message;
      input.errorEl.hidden = false;
      input.control.setAttribute('aria-invalid', 'true');
    }
    if (orphans.length > 0) {
      modal.generalError.textContent = orphans.join(' ');
      modal.generalError.hidden = false;
    }
  }

  async function submitView(modal) {
    const values = {};
    for (const input of modal.inputs) {
      const v = input.read();
      if (v === null) continue;
      values[input.blockId] = values[input.blockId] || {};
      values[input.blockId][input.actionId] = v;
    }
    const button = modal.submitButton;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const r = await api('POST', '/submit', { user: ui.user, viewId: str(modal.id), values });
      if (isObject(r.data) && r.data.ok === false) {
        if (isObject(r.data.errors)) showErrors(modal, r.data.errors);
        else showErrors(modal, { '': str(r.data.error) || `Kanshi did not accept it (HTTP ${r.status}).` });
      } else if (!r.ok) {
        showErrors(modal, { '': `Submitting failed (${describeFailure(r)}).` });
      } else {
        showErrors(modal, {});
      }
    } catch (err) {
      showErrors(modal, { '': `Submitting failed: ${err.message}` });
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      poll();
    }
  }

  // ---------------------------------------------------------------------------
  // Messages
  // ---------------------------------------------------------------------------

  function tsDate(ts) {
    const seconds = Number(ts);
    return Number.isFinite(seconds) && seconds > 1e9 ? new Date(seconds * 1000) : null;
  }

  function timeLabel(date) {
    return date ? date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }) : '';
  }

  function messageContent(message, ctx) {
    const blocks = arr(message.blocks);
    if (blocks.length > 0) return h('div', { class: 'msg-blocks' }, renderBlocks(blocks, ctx));
    return h('div', { class: 'msg-blocks' }, mrkdwn(str(message.text)));
  }

  function messageHead(date, edited) {
    return h(
      'div',
      { class: 'msg-head' },
      h('span', { class: 'msg-sender', text: 'Kanshi' }),
      h('span', { class: 'msg-badge', text: 'APP' }),
      date ? h('time', { class: 'msg-time', datetime: date.toISOString(), text: timeLabel(date) }) : null,
      edited ? h('span', { class: 'msg-edited', text: '(edited)' }) : null,
    );
  }

  function buildReply(reply, channel, parentTs) {
    const ts = str(reply.ts);
    return h(
      'article',
      { class: 'message reply', dataset: { ts, threadTs: parentTs, channelId: channel } },
      h('div', { class: 'avatar avatar-small', 'aria-hidden': 'true', text: 'K' }),
      h(
        'div',
        { class: 'msg-body' },
        messageHead(tsDate(ts), Number(reply.edits) > 0),
        messageContent(reply, { channel, messageTs: ts }),
      ),
    );
  }

  function buildMessage(message, channel, open) {
    const ts = str(message.ts);
    const replies = arr(message.replies).filter(isObject);
    const body = h(
      'div',
      { class: 'msg-body' },
      messageHead(tsDate(ts), Number(message.edits) > 0),
      messageContent(message, { channel, messageTs: ts }),
    );
    if (replies.length > 0) {
      const threadId = nextId('thread');
      const toggle = h('button', {
        type: 'button',
        class: 'thread-toggle',
        'aria-expanded': open ? 'true' : 'false',
        'aria-controls': threadId,
        dataset: { threadFor: ts },
        text: `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`,
      });
      toggle.addEventListener('click', () => {
        const key = `${channel}:${ts}`;
        if (ui.openThreads.has(key)) ui.openThreads.delete(key);
        else ui.openThreads.add(key);
        renderMessages(false);
      });
      body.append(toggle);
      if (open) {
        body.append(
          h(
            'div',
            { class: 'thread', id: threadId, role: 'group', 'aria-label': 'Thread replies' },
            replies.map((r) => buildReply(r, channel, ts)),
          ),
        );
      }
    }
    return h(
      'article',
      { class: 'message', dataset: { ts, channelId: channel, edits: Number(message.edits) || 0 } },
      h('div', { class: 'avatar', 'aria-hidden': 'true', text: 'K' }),
      body,
    );
  }

  function buildEphemeral(e, key) {
    const channel = str(e.channel);
    const ts = typeof e.ts === 'string' ? e.ts : typeof e.message_ts === 'string' ? e.message_ts : undefined;
    const at = Number(e.at);
    const date = Number.isFinite(at) && at > 0 ? new Date(at) : tsDate(ts);
    const dismiss = h('button', { type: 'button', class: 'link-button', text: 'Dismiss' });
    dismiss.addEventListener('click', () => {
      ui.dismissed.add(key);
      renderMessages(false);
    });
    const content =
      arr(e.blocks).length > 0
        ? h('div', { class: 'msg-blocks' }, renderBlocks(e.blocks, { channel, messageTs: ts }))
        : h('div', { class: 'msg-blocks' }, mrkdwn(str(e.text)));
    return h(
      'article',
      { class: 'message ephemeral', dataset: { ephemeral: 'true', channelId: channel, at: e.at, ts } },
      h('div', { class: 'avatar', 'aria-hidden': 'true', text: 'K' }),
      h(
        'div',
        { class: 'msg-body' },
        h('div', { class: 'ephemeral-note' }, h('span', { text: '👁 Only visible to you' }), dismiss),
        messageHead(date, false),
        content,
      ),
    );
  }

  /** What counts towards a channel's unread dot: messages and replies, and the reader's own ephemerals. */
  function activityCount(channelId) {
    const list = arr(ui.state?.messages?.[channelId]);
    let n = list.length;
    for (const m of list) n += arr(m?.replies).length;
    n += arr(ui.state?.ephemerals).filter((e) => isObject(e) && e.channel === channelId).length;
    return n;
  }

  function renderMessages(channelChanged) {
    const st = ui.state;
    const pane = $('messages');
    const channel = ui.channel;
    const atBottom = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 40;
    const items = [];
    arr(st.messages?.[channel]).forEach((m) => {
      if (!isObject(m)) return;
      const date = tsDate(m.ts);
      items.push({ kind: 'message', m, time: date ? date.getTime() : 0 });
    });
    arr(st.ephemerals).forEach((e, index) => {
      if (!isObject(e) || e.channel !== channel) return;
      const key = `eph:${str(e.at)}:${index}:${str(e.text).slice(0, 80)}`;
      if (ui.dismissed.has(key)) return;
      const at = Number(e.at);
      items.push({ kind: 'ephemeral', e, key, time: Number.isFinite(at) ? at : Number.MAX_SAFE_INTEGER });
    });
    // Stable: messages keep their order, ephemerals go where they happened.
    items.sort((a, b) => a.time - b.time);

    const used = new Set();
    const nodes = items.map((item) => {
      let key;
      let sig;
      let build;
      if (item.kind === 'message') {
        const open = ui.openThreads.has(`${channel}:${str(item.m.ts)}`);
        key = `m:${channel}:${str(item.m.ts)}`;
        sig = `${open ? 1 : 0}${JSON.stringify(item.m)}`;
        build = () => buildMessage(item.m, channel, open);
      } else {
        key = `e:${ui.user}:${item.key}`;
        sig = JSON.stringify(item.e);
        build = () => buildEphemeral(item.e, item.key);
      }
      used.add(key);
      let cached = ui.nodes.get(key);
      if (!cached || cached.sig !== sig) {
        cached = { sig, node: build() };
        ui.nodes.set(key, cached);
      }
      return cached.node;
    });
    for (const key of ui.nodes.keys()) {
      if (!used.has(key) && (key.startsWith(`m:${channel}:`) || key.startsWith('e:'))) ui.nodes.delete(key);
    }
    if (nodes.length === 0) {
      const name = channelName(channel) || channel || '';
      nodes.push(
        h(
          'div',
          { class: 'empty' },
          h('p', { text: `Nothing in #${name} yet.` }),
          h('p', { text: 'Use “Replay GuardDuty samples” in the tools panel, or run /alert help below.' }),
        ),
      );
    }
    reconcile(pane, nodes);
    if (channelChanged || atBottom) pane.scrollTop = pane.scrollHeight;
    ui.seen.set(channel, activityCount(channel));
  }

  // ---------------------------------------------------------------------------
  // Sidebar, user switcher, header
  // ---------------------------------------------------------------------------

  function selectChannel(id) {
    if (!arr(ui.state?.channels).some((c) => isObject(c) && c.id === id)) return;
    if (ui.channel === id) return;
    ui.channel = id;
    try {
      localStorage.setItem(STORE_CHANNEL, id);
    } catch {
      // Storage may be unavailable; the choice then lasts until reload.
    }
    if (location.hash !== `#${id}`) history.replaceState(null, '', `#${id}`);
    render(true);
  }

  function renderChannels() {
    const list = $('channel-list');
    const nodes = [];
    for (const c of arr(ui.state.channels)) {
      if (!isObject(c)) continue;
      const id = str(c.id);
      let btn = ui.channelButtons.get(id);
      if (!btn) {
        btn = h(
          'button',
          { type: 'button', class: 'channel', dataset: { channelId: id } },
          h('span', { class: 'channel-name' }),
          h('span', { class: 'unread-dot', 'aria-hidden': 'true' }),
        );
        btn.addEventListener('click', () => selectChannel(id));
        ui.channelButtons.set(id, btn);
      }
      btn.firstChild.textContent = `#${str(c.name)}`;
      const current = id === ui.channel;
      if (current) btn.setAttribute('aria-current', 'true');
      else btn.removeAttribute('aria-current');
      const unread = !current && activityCount(id) > (ui.seen.get(id) || 0);
      btn.dataset.unread = unread ? 'true' : 'false';
      btn.title = unread ? 'New messages' : '';
      nodes.push(btn);
    }
    reconcile(list, nodes);
  }

  function renderUsers() {
    const select = $('user-select');
    const users = arr(ui.state.users).filter(isObject);
    const sig = JSON.stringify(users);
    if (sig !== ui.usersSig) {
      ui.usersSig = sig;
      select.replaceChildren(...users.map((u) => h('option', { value: str(u.id), text: str(u.name) || str(u.id) })));
    }
    select.value = ui.user || '';
    select.disabled = users.length === 0;
  }

  function renderHeader() {
    const name = channelName(ui.channel);
    $('channel-title').textContent = name ? `#${name}` : 'No channel';
    const count = arr(ui.state.messages?.[ui.channel]).length;
    $('channel-meta').textContent = name ? `${count} message${count === 1 ? '' : 's'} · ${ui.channel}` : '';
    const input = $('composer-input');
    input.disabled = !name || !ui.user;
    $('composer-send').disabled = input.disabled;
    input.placeholder = 'help, list, silences…';
    $('composer-hint').textContent = name
      ? `Runs in #${name} as ${userName(ui.user) || ui.user}; the reply is only visible to you.`
      : '';
    const hint = str(ui.state.ingestKeyHint);
    $('ingest-key-hint').textContent = hint ? `Ingest key: ${hint}` : '';
  }

  /** Draws the state; `channelChanged` scrolls the new channel to its newest message. */
  function render(channelChanged) {
    const st = ui.state;
    if (!st) return;
    const contextSig = JSON.stringify([st.channels, st.users]);
    if (contextSig !== ui.contextSig) {
      // Channel and user names appear inside rendered messages.
      ui.contextSig = contextSig;
      ui.nodes.clear();
    }
    const channels = arr(st.channels).filter(isObject);
    if (!channels.some((c) => c.id === ui.channel)) {
      ui.channel = channels[0] ? str(channels[0].id) : null;
      channelChanged = true;
    }
    // After a user switch (or on first load) what is there now counts as seen.
    if (ui.seenBaselineUser !== ui.user) {
      ui.seenBaselineUser = ui.user;
      for (const c of channels) ui.seen.set(str(c.id), activityCount(str(c.id)));
    }
    renderUsers();
    renderHeader();
    if (ui.channel) renderMessages(channelChanged || ui.renderedChannel !== ui.channel);
    else reconcile($('messages'), []);
    renderChannels();
    syncModal();
    ui.renderedVersion = st.version;
    ui.renderedUser = ui.user;
    ui.renderedChannel = ui.channel;
    document.body.dataset.version = str(st.version);
    document.body.dataset.user = ui.user || '';
    document.body.dataset.channel = ui.channel || '';
    document.body.dataset.ready = 'true';
  }

  // ---------------------------------------------------------------------------
  // Polling
  // ---------------------------------------------------------------------------

  function setConnected(connected, detail) {
    const el = $('conn-status');
    el.dataset.connected = connected ? 'true' : 'false';
    el.textContent = connected ? 'Live' : `Offline: ${detail || 'the sandbox server does not answer'} · retrying`;
    ui.connected = connected;
  }

  /** Fetches the state now (or right after the fetch in flight) and schedules the next one. */
  async function poll() {
    clearTimeout(ui.timer);
    if (ui.polling) {
      ui.pollAgain = true;
      return;
    }
    ui.polling = true;
    const user = ui.user;
    try {
      const r = await api('GET', user ? `/state?user=${encodeURIComponent(user)}` : '/state');
      if (!r.ok || !isObject(r.data)) {
        setConnected(false, describeFailure(r));
        // A remembered user the server does not know: start again without one.
        if (r.status >= 400 && r.status < 500 && user && !ui.state) {
          ui.user = null;
          ui.pollAgain = true;
        }
        return;
      }
      setConnected(true);
      if (user !== ui.user) {
        ui.pollAgain = true;
        return;
      }
      ui.state = r.data;
      const users = arr(r.data.users).filter(isObject);
      if (!users.some((u) => u.id === ui.user) && users.length > 0) {
        // No user yet (or an unknown one): act as the first, and fetch that user's view of the state.
        ui.user = str(users[0].id);
        ui.pollAgain = true;
        return;
      }
      if (r.data.version !== ui.renderedVersion || ui.renderedUser !== ui.user) render(false);
    } catch (err) {
      setConnected(false, err.message);
    } finally {
      ui.polling = false;
      if (ui.pollAgain) {
        ui.pollAgain = false;
        ui.timer = setTimeout(poll, 0);
      } else {
        ui.timer = setTimeout(poll, POLL_MS);
      }
    }
  }

  // ---------------------------------------------------------------------------
  // Composer and tools
  // ---------------------------------------------------------------------------

  async function runCommand(event) {
    event.preventDefault();
    const input = $('composer-input');
    const status = $('composer-status');
    const raw = input.value.trim();
    if (!raw || !ui.channel || !ui.user) return;
    const m = /^\/alert(?:\s+|$)/.exec(raw);
    if (!m && raw.startsWith('/')) {
      status.dataset.kind = 'error';
      status.textContent = 'Only /alert commands run in the sandbox.';
      return;
    }
    const text = m ? raw.slice(m[0].length).trim() : raw;
    const button = $('composer-send');
    button.disabled = true;
    status.dataset.kind = 'info';
    status.textContent = `Running /alert ${text}…`;
    try {
      const r = await api('POST', '/command', { user: ui.user, channel: ui.channel, text });
      if (!r.ok || (isObject(r.data) && r.data.ok === false)) {
        status.dataset.kind = 'error';
        status.textContent = `/alert ${text} failed (${describeFailure(r)}).`;
      } else {
        status.dataset.kind = 'info';
        status.textContent = `Ran /alert ${text}`;
        input.value = '';
      }
    } catch (err) {
      status.dataset.kind = 'error';
      status.textContent = `/alert ${text} could not be sent: ${err.message}`;
    } finally {
      button.disabled = false;
      input.focus();
      poll();
    }
  }

  function showToolOutput(title, summary, body) {
    $('tool-output').hidden = false;
    $('tool-output-title').textContent = title;
    $('tool-output-summary').textContent = summary;
    $('tool-output-body').textContent = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  }

  async function replay() {
    const button = $('replay-button');
    button.disabled = true;
    showToolOutput('Replay', 'Replaying the GuardDuty samples…', '');
    try {
      const r = await api('POST', '/replay', {});
      const results = isObject(r.data) ? arr(r.data.results) : [];
      if (!r.ok) {
        showToolOutput('Replay', `The replay failed (${describeFailure(r)}).`, r.data);
        return;
      }
      const byStatus = new Map();
      for (const x of results) byStatus.set(str(x?.status), (byStatus.get(str(x?.status)) || 0) + 1);
      const counts = Array.from(byStatus, ([s, n]) => `${n} × ${s}`).join(', ');
      showToolOutput(
        'Replay',
        `${results.length} event${results.length === 1 ? '' : 's'} sent${counts ? `: ${counts}` : ''}.`,
        r.data,
      );
    } catch (err) {
      showToolOutput('Replay', `The replay could not be sent: ${err.message}`, '');
    } finally {
      button.disabled = false;
      poll();
    }
  }

  /** A made-up GuardDuty finding in EventBridge's shape, new each time so it is not a repeat. */
  function exampleEvent() {
    const now = new Date().toISOString();
    const hex = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
    const account = '123456789012';
    return {
      version: '0',
      id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      'detail-type': 'GuardDuty Finding',
      source: 'aws.guardduty',
      account,
      time: now,
      region: 'eu-west-1',
      resources: [],
      detail: {
        schemaVersion: '2.0',
        accountId: account,
        region: 'eu-west-1',
        partition: 'aws',
        id: hex,
        arn: `arn:aws:guardduty:eu-west-1:${account}:detector/sandboxdetector/finding/${hex}`,
        type: 'Recon:EC2/PortProbeUnprotectedPort',
        resource: {
          resourceType: 'Instance',
          instanceDetails: {
            instanceId: 'i-0sandbox0example1',
            instanceType: 't3.small',
            tags: [{ key: 'Name', value: 'sandbox-web-1' }],
          },
        },
        service: {
          serviceName: 'guardduty',
          count: 1,
          eventFirstSeen: now,
          eventLastSeen: now,
          archived: false,
          additionalInfo: { sample: true },
        },
        severity: 5,
        createdAt: now,
        updatedAt: now,
        title: 'Unprotected port on EC2 instance i-0sandbox0example1 is being probed.',
        description: 'A sandbox example: port 22 of the instance is reachable and being probed from the internet.',
      },
    };
  }

  async function sendEvent(event) {
    event.preventDefault();
    const textarea = $('ingest-json');
    let parsed;
    try {
      parsed = JSON.parse(textarea.value);
    } catch (err) {
      showToolOutput('Send event', `That is not JSON: ${err.message}`, '');
      return;
    }
    const button = $('ingest-send');
    button.disabled = true;
    showToolOutput('Send event', 'Sending…', '');
    try {
      const r = await api('POST', '/ingest', { event: parsed });
      if (r.ok && isObject(r.data) && 'status' in r.data) {
        showToolOutput(
          'Send event',
          `Kanshi answered ${str(r.data.status)}.`,
          r.data.body === undefined ? '' : r.data.body,
        );
      } else {
        showToolOutput('Send event', `Sending failed (${describeFailure(r)}).`, r.data === null ? '' : r.data);
      }
    } catch (err) {
      showToolOutput('Send event', `The event could not be sent: ${err.message}`, '');
    } finally {
      button.disabled = false;
      poll();
    }
  }

  // ---------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------

  function readStored(key) {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  }

  function start() {
    const params = new URLSearchParams(location.search);
    ui.user = params.get('user') || readStored(STORE_USER);
    const hash = location.hash.slice(1);
    ui.channel = params.get('channel') || (hash && /^[A-Z0-9]+$/.test(hash) ? hash : null) || readStored(STORE_CHANNEL);

    $('user-select').addEventListener('change', (e) => {
      const id = e.target.value;
      if (!id || id === ui.user) return;
      ui.user = id;
      try {
        localStorage.setItem(STORE_USER, id);
      } catch {
        // See selectChannel.
      }
      closeConfirm();
      closeModalDom();
      ui.dismissed.clear();
      $('composer-status').textContent = '';
      poll();
    });
    window.addEventListener('hashchange', () => {
      const id = location.hash.slice(1);
      if (id) selectChannel(id);
    });
    $('composer').addEventListener('submit', runCommand);
    $('replay-button').addEventListener('click', replay);
    $('ingest-form').addEventListener('submit', sendEvent);
    $('ingest-toggle').addEventListener('click', () => {
      const form = $('ingest-form');
      form.hidden = !form.hidden;
      $('ingest-toggle').setAttribute('aria-expanded', form.hidden ? 'false' : 'true');
      if (!form.hidden) $('ingest-json').focus();
    });
    $('ingest-example').addEventListener('click', () => {
      $('ingest-json').value = JSON.stringify(exampleEvent(), null, 2);
    });
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      if (ui.confirm) {
        e.preventDefault();
        closeConfirm();
      } else if (ui.modal) {
        e.preventDefault();
        closeView(ui.modal);
      }
    });
    poll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
