/*!
 * omnichat live-chat widget (https://github.com/omnichat/omnichat)
 *   <script src="https://YOUR-OMNICHAT-HOST/widget.js" data-channel="CHANNEL_ID" async></script>
 * Optional: data-title, data-color (#hex), data-position (right|left), data-name, data-email.
 * API: window.omnichat.open() / close() / toggle() / identify({name, email}).
 * Plain ES2018 with no dependencies or build step, so site owners can read what they embed.
 */
(() => {
  'use strict';

  // currentScript is only set during the script's first synchronous run
  // (async scripts included), so capture it before anything awaits.
  const script = document.currentScript || document.querySelector('script[data-channel][src*="widget.js"]');
  if (!script || !script.src) return;
  // A second copy would mean a second bubble and a second visitor.
  if (window.omnichat && window.omnichat.version) return console.warn('omnichat: widget.js included twice');
  const attr = (n) => (script.getAttribute('data-' + n) || '').trim();
  const channel = attr('channel');
  if (!channel) return console.warn('omnichat: the widget <script> needs data-channel');

  // The API sits next to the script (maybe under a path prefix), not on the
  // host page's origin: the widget runs on other people's sites.
  const base = new URL('.', script.src);
  const api = (path) => new URL(path, base).toString();
  const title = attr('title') || 'Chat with us';
  // Validated because it is pasted into our stylesheet.
  const color = /^#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(attr('color')) ? attr('color') : '#2563eb';
  const side = attr('position') === 'left' ? 'left' : 'right';
  const identity = { name: attr('name'), email: attr('email') };

  // ---- storage: {visitor_id, token, seen} per channel, so the conversation
  // and its read state survive page loads. Privacy modes throw on
  // localStorage; then everything lives in memory for this page only.
  const storeKey = 'omnichat:' + channel;
  let ls = null;
  let mem = null;
  try {
    ls = window.localStorage;
    ls.setItem(storeKey + ':t', '1');
    ls.removeItem(storeKey + ':t');
  } catch (e) { ls = null; }
  const load = () => {
    try { return ls ? JSON.parse(ls.getItem(storeKey)) : mem; } catch (e) { return mem; }
  };
  const validVisitor = (v) => (v && typeof v.token === 'string' && v.token ? { visitor_id: v.visitor_id, token: v.token } : null);
  let visitor = validVisitor(load());
  let seenAt = (visitor && Number(load().seen)) || 0; // created_at (ms) of the newest agent message seen
  function persist() {
    mem = visitor && { visitor_id: visitor.visitor_id, token: visitor.token, seen: seenAt };
    try {
      if (ls && mem) ls.setItem(storeKey, JSON.stringify(mem));
      else if (ls) ls.removeItem(storeKey);
    } catch (e) { /* quota: the memory copy still works */ }
  }

  // ---- state: one stable entry per message on screen, so the optimistic
  // copy becomes the server's copy in place (same DOM node, announced once).
  const entries = [];
  const byId = new Map();
  const byClient = new Map();
  let seq = 0;
  let engaged = false; // panel opened or message sent: only then may a visitor be created
  let isOpen = false;
  let wantOpen = false; // open() called before the DOM was ready
  let cursor = null; // next_cursor for "load earlier messages"
  let historyLoaded = false;
  let ui = null;

  // Merges a server message. Matched by id, then client_id (POST answer),
  // then for the visitor's own messages by text against unconfirmed ones:
  // the event can beat the POST answer, and a POST that failed on the
  // network may still have reached the server.
  function upsert(m, clientId) {
    if (!m || m.id == null) return null;
    const id = String(m.id);
    const t = Date.parse(m.created_at);
    const time = Number.isNaN(t) ? Date.now() : t;
    let e = byId.get(id);
    const p = byClient.get(clientId) || byClient.get(m.client_id);
    if (p && !p.id) {
      if (e) removeEntry(p); // the event got here first: drop the optimistic twin
      else e = p;
    }
    // Time bound: an identical older "ok" from history must not swallow the
    // one being sent now (5 min of clock skew tolerated).
    if (!e && m.direction === 'in') e = entries.find((x) => !x.id && x.text === m.text && time > x.time - 3e5);
    if (!e) entries.push((e = { seq: seq++ }));
    byId.set((e.id = id), e);
    Object.assign(e, {
      local: null, time,
      direction: m.direction === 'in' ? 'in' : 'out',
      text: typeof m.text === 'string' ? m.text : '',
      attachments: Array.isArray(m.attachments) ? m.attachments : [],
      status: String(m.status || ''),
      sender: typeof m.sender_name === 'string' ? m.sender_name : '',
    });
    return e;
  }

  function removeEntry(e) {
    if (entries.includes(e)) entries.splice(entries.indexOf(e), 1);
    byId.delete(e.id);
    byClient.delete(e.clientId);
  }

  // ---- HTTP. Rejects with err.status (0 = network error or timeout) and the
  // RFC 9457 problem's detail.
  const fail = (status, msg, detail) => Object.assign(new Error(msg), { status, detail: detail || '' });
  async function request(method, path, body, token) {
    const headers = { Accept: 'application/json' };
    if (body) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), 20000); // or a hung request leaves a message "sending" forever
    let res;
    let data = null;
    try {
      // credentials: omit: the token is the only identity; host-site cookies are not ours.
      res = await fetch(api(path), { method, headers, body: body && JSON.stringify(body), mode: 'cors', credentials: 'omit', signal: ctl.signal });
      data = await res.json().catch(() => null);
    } catch (e) {
      throw fail(0, 'network error');
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok) throw fail(res.status, (data && data.title) || 'HTTP ' + res.status, data && data.detail);
    return data;
  }

  // Single-flight: an open and a send racing must not create two visitors.
  let creating = null;
  function ensureVisitor() {
    if (visitor) return Promise.resolve(visitor);
    if (!creating) {
      const body = {};
      if (identity.name) body.name = identity.name;
      if (identity.email) body.email = identity.email;
      creating = request('POST', 'widget/v1/channels/' + encodeURIComponent(channel) + '/visitors', body)
        .then((v) => {
          if (!validVisitor(v)) throw fail(0, 'bad visitor response');
          setVisitor(validVisitor(v));
          return visitor;
        })
        .finally(() => { creating = null; });
    }
    return creating;
  }

  // A 401 means the token is dead: drop it and, if someone is actually
  // chatting, start a fresh visitor and retry once. Background calls (stale
  // token at page load) only drop it: drive-by views never create visitors.
  async function authed(method, path, body) {
    for (let retried = false; ; retried = true) {
      const v = visitor || (engaged ? await ensureVisitor() : null);
      if (!v) throw fail(401, 'no visitor');
      try {
        return await request(method, path, body, v.token);
      } catch (err) {
        if (err.status !== 401 || retried) throw err;
        if (visitor === v) setVisitor(null);
        if (!engaged) throw err;
      }
    }
  }

  // Switching identity drops the old conversation's messages; unconfirmed
  // local ones stay and get sent as the new visitor.
  function setVisitor(v) {
    closeEvents();
    visitor = v;
    seenAt = 0;
    entries.filter((e) => e.id).forEach(removeEntry);
    cursor = null;
    historyLoaded = false;
    persist();
    render();
    connect();
  }

  // ---- history
  async function fetchHistory(before) {
    const res = (await authed('GET', 'widget/v1/messages?limit=50' + (before ? '&before=' + encodeURIComponent(before) : ''))) || {};
    (Array.isArray(res.items) ? res.items : []).forEach((m) => upsert(m));
    // Refetches only fill gaps at the recent end; the paging cursor comes
    // from the first load and from paging back.
    if (before || !historyLoaded) cursor = res.next_cursor || null;
    historyLoaded = true;
  }

  // Coalesced, but a request made while one is in flight runs again after
  // it: the running fetch may predate the drop it is supposed to cover.
  let historyBusy = false;
  let historyAgain = false;
  async function refreshHistory() {
    if (historyBusy) return void (historyAgain = true);
    historyBusy = true;
    try {
      do {
        historyAgain = false;
        await fetchHistory();
        render();
      } while (historyAgain);
    } catch (e) { /* the next (re)connect refetches */ }
    historyBusy = false;
  }

  let olderBusy = false;
  async function loadOlder() {
    if (!cursor || olderBusy) return;
    olderBusy = true;
    const list = ui.list;
    try {
      await fetchHistory(cursor);
      const fromBottom = list.scrollHeight - list.scrollTop;
      render(false);
      list.scrollTop = list.scrollHeight - fromBottom; // keep the reader's place
    } catch (e) {
      notify('Could not load earlier messages.');
    }
    olderBusy = false;
  }

  // ---- live events. EventSource reconnects by itself after network drops
  // (readyState back to CONNECTING) but gives up (CLOSED) on HTTP errors such
  // as 401. Then we re-validate the token and reconnect with backoff.
  let es = null;
  let esTimer = 0;
  let backoff = 0;
  function connect() {
    if (!visitor || es || esTimer || !window.EventSource) return;
    const src = (es = new EventSource(api('widget/v1/events?token=' + encodeURIComponent(visitor.token))));
    const onMessage = (ev) => {
      try { upsert(JSON.parse(ev.data)); } catch (e) { return; }
      render();
    };
    src.addEventListener('message.created', onMessage);
    src.addEventListener('message.updated', onMessage);
    src.addEventListener('open', () => {
      backoff = 0;
      setOnline(true);
      refreshHistory(); // whatever happened while we were disconnected is only in history
    });
    src.addEventListener('error', () => {
      if (es !== src) return;
      setOnline(false);
      if (src.readyState !== EventSource.CLOSED) return; // the browser is retrying
      es = null;
      scheduleReconnect();
    });
  }

  function closeEvents() {
    if (es) es.close();
    clearTimeout(esTimer);
    es = null;
    esTimer = backoff = 0;
    setOnline(true); // no connection wanted, nothing to warn about
  }

  function scheduleReconnect() {
    esTimer = setTimeout(async () => {
      esTimer = 0;
      try {
        // Doubles as token validation: a 401 here replaces or drops the visitor.
        if (visitor) await fetchHistory();
        render();
        connect();
      } catch (err) {
        if (visitor && !es && !esTimer) scheduleReconnect();
      }
    }, Math.min(30000, 1000 * 2 ** backoff++));
  }

  // Blips are normal (server restart, laptop wake-up): only mention an outage
  // that lasts. One timer per outage, as browser retries keep firing 'error'.
  let offline = false;
  let offlineTimer = 0;
  function setOnline(on) {
    if (on || !offline) clearTimeout(offlineTimer);
    if (on && ui) ui.conn.hidden = true;
    if (!on && !offline) offlineTimer = setTimeout(() => { if (ui && visitor) ui.conn.hidden = false; }, 4000);
    offline = !on;
  }

  // ---- sending
  function uuid() {
    try { return crypto.randomUUID(); } catch (e) { /* only exists in secure contexts (https, localhost) */ }
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; // shaped as a v4 UUID in case the server checks the format
    b[8] = (b[8] & 63) | 128;
    const x = Array.from(b, (n) => n.toString(16).padStart(2, '0')).join('');
    return [x.slice(0, 8), x.slice(8, 12), x.slice(12, 16), x.slice(16, 20), x.slice(20)].join('-');
  }

  function send(raw) {
    const text = raw.trim();
    if (!text) return false;
    engaged = true;
    const e = { seq: seq++, id: null, clientId: uuid(), direction: 'in', text, attachments: [], status: '', sender: '', time: Date.now() };
    entries.push(e);
    byClient.set(e.clientId, e);
    enqueue(e);
    return true;
  }

  // One send at a time, so messages arrive in the order they were typed.
  let chain = Promise.resolve();
  function enqueue(e) {
    e.local = 'sending';
    render(true);
    chain = chain.then(() => post(e));
  }

  async function post(e) {
    if (e.id) return; // already confirmed by an event or a refetch
    try {
      // Retries reuse client_id, so the server can drop duplicates.
      const m = await authed('POST', 'widget/v1/messages', { text: e.text, client_id: e.clientId });
      if (!upsert(m, e.clientId)) e.local = null; // 201 without a usable body: still sent
    } catch (err) {
      const s = err.status;
      if (e.id) {
        // confirmed meanwhile (event or refetch): nothing failed
      } else if (s >= 400 && s < 500 && s !== 401 && s !== 408 && s !== 429) {
        // Rejected for good (413 too long, 400 invalid): a retry cannot help,
        // so hand the text back for editing and say why.
        removeEntry(e);
        if (ui && !ui.input.value.trim()) {
          ui.input.value = e.text;
          autosize();
        }
        notify(err.detail || (s === 413 ? 'Your message is too long.' : 'Your message could not be sent.'));
      } else {
        e.local = 'failed';
      }
    }
    render();
  }

  // ---- rendering
  const STATUS = Object.assign(Object.create(null), { received: 'Sent', sent: 'Sent', delivered: 'Delivered', seen: 'Seen', failed: 'Failed' });
  const hhmm = (d) => String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  function fmtTime(ms) {
    const d = new Date(ms);
    return (d.toDateString() === new Date().toDateString() ? '' : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ') + hhmm(d);
  }

  // Only http(s) may become a link or an image: no javascript: or data:.
  // Relative attachment URLs resolve against the omnichat server.
  function safeUrl(u) {
    try {
      const p = new URL(String(u), base);
      return /^https?:$/.test(p.protocol) ? p.href : null;
    } catch (e) { return null; }
  }

  function h(tag, cls, text) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text) el.textContent = text;
    return el;
  }

  function link(href, text, cls) {
    const a = h('a', cls, text);
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    return a;
  }

  // Message text is untrusted: it only ever goes into text nodes, and URLs
  // become hand-built <a> elements. Line breaks survive via pre-wrap.
  function appendText(parent, text) {
    const re = /\bhttps?:\/\/[^\s<>"']+/gi;
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      const url = m[0].replace(/[.,;:!?)\]}]+$/, ''); // trailing punctuation belongs to the sentence
      const href = safeUrl(url);
      if (!href) continue;
      parent.append(text.slice(last, m.index), link(href, url));
      re.lastIndex = last = m.index + url.length;
    }
    parent.append(text.slice(last));
  }

  function buildBody(e, box) {
    box.textContent = '';
    if (e.text) appendText(box.appendChild(h('div')), e.text);
    for (const a of e.attachments) {
      const href = a && safeUrl(a.url);
      if (!href) continue;
      const name = String(a.name || 'attachment');
      if (/^image\//i.test(a.content_type)) {
        const img = h('img');
        img.alt = name;
        img.loading = 'lazy';
        // Images grow the list after layout; stay pinned to the newest message.
        img.onload = () => { if (ui.pinned) ui.list.scrollTop = ui.list.scrollHeight; };
        img.src = href;
        box.appendChild(link(href, '', 'att')).appendChild(img);
      } else {
        const kb = Math.ceil(Number(a.size) / 1024);
        box.appendChild(link(href, '📎 ' + name + (kb > 0 ? ` (${kb < 1024 ? kb + ' KB' : (kb / 1024).toFixed(1) + ' MB'})` : ''), 'att'));
      }
    }
  }

  function updateItem(e, prev) {
    if (!e.el) {
      e.el = h('div');
      e.el.entry = e;
      e.el.append(h('div', 'who'), h('div', 'body'), h('div', 'meta'));
    }
    const [who, body, meta] = e.el.children;
    e.el.className = 'msg ' + e.direction + (e.local ? ' ' + e.local : '');
    // The agent's name heads each run of consecutive messages from them.
    const name = e.direction === 'out' && !(prev && prev.direction === 'out' && prev.sender === e.sender) ? e.sender : '';
    if (who.textContent !== name) who.textContent = name;
    who.hidden = !name;
    const sig = e.text + '\0' + JSON.stringify(e.attachments);
    if (e.sig !== sig) buildBody(e, body);
    e.sig = sig;
    const status = e.direction !== 'in' ? '' : e.local === 'sending' ? 'Sending…' : STATUS[e.status] || '';
    const key = `${e.time}|${e.local}|${status}`;
    if (meta.key === key) return;
    meta.key = key;
    meta.textContent = '';
    const t = meta.appendChild(h('time', null, fmtTime(e.time)));
    t.dateTime = new Date(e.time).toISOString();
    if (e.local === 'failed') {
      const b = h('button', 'retry', 'Not sent — retry');
      b.type = 'button';
      b.onclick = () => { if (e.local === 'failed') enqueue(e); };
      meta.append(' · ', b);
    } else if (status) {
      meta.append(' · ' + status);
    }
  }

  // Keyed in-place updates, not a rebuild: the list is aria-live, and
  // re-inserting every node would make screen readers read it all again.
  function render(bottom) {
    if (!ui) return;
    const list = ui.list;
    const pinned = bottom === true || (bottom !== false && list.scrollHeight - list.scrollTop - list.clientHeight < 48);
    // Unconfirmed messages go last: their time is the visitor's clock, not the server's.
    const order = entries.slice().sort((a, b) => !a.id - !b.id || a.time - b.time || a.seq - b.seq);
    for (const el of Array.from(ui.items.children)) if (!entries.includes(el.entry)) el.remove();
    let ref = ui.items.firstChild;
    let unread = 0;
    let newest = seenAt;
    order.forEach((e, i) => {
      updateItem(e, order[i - 1]);
      if (e.el === ref) ref = ref.nextSibling;
      else ui.items.insertBefore(e.el, ref);
      if (e.id && e.direction === 'out' && e.time > seenAt) {
        unread++;
        newest = Math.max(newest, e.time);
      }
    });
    ui.empty.hidden = order.length > 0;
    ui.more.hidden = !cursor;
    ui.pinned = pinned;
    if (pinned) list.scrollTop = list.scrollHeight;
    // What arrives while the panel is open in a visible tab counts as read;
    // persisted so the badge survives page loads.
    if (isOpen && document.visibilityState !== 'hidden') {
      unread = 0;
      if (newest > seenAt) {
        seenAt = newest;
        persist();
      }
    }
    ui.badge.hidden = !unread;
    ui.badge.textContent = unread > 9 ? '9+' : unread;
    ui.bubble.setAttribute('aria-label', (isOpen ? 'Close chat' : 'Open chat') + (unread ? ` (${unread} unread)` : ''));
  }

  let noticeTimer = 0;
  function notify(text) {
    if (!ui) return;
    ui.notice.textContent = text;
    ui.notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { ui.notice.hidden = true; }, 8000);
  }

  function autosize() {
    const ta = ui.input;
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight + 2, 120) + 'px';
    ui.send.disabled = !ta.value.trim();
  }

  function setOpen(open) {
    if (!ui) return void (wantOpen = open);
    if (open !== isOpen) {
      isOpen = open;
      ui.panel.hidden = !open;
      ui.root.classList.toggle('open', open);
      ui.bubble.setAttribute('aria-expanded', open);
      if (open) {
        // The first open is when a visitor becomes real (see ensureVisitor).
        engaged = true;
        ensureVisitor()
          .then(() => historyLoaded || refreshHistory())
          .catch(() => notify('Can’t reach the chat right now. Please try again in a moment.'));
      } else if (ui.shadow.activeElement) {
        ui.bubble.focus(); // don't strand keyboard focus in a hidden panel
      }
      render(open);
    }
    if (open) ui.input.focus();
  }

  // ---- UI
  const svg = (d, size, attrs) => `<svg viewBox="0 0 24 24" width="${size}" height="${size}" aria-hidden="true"><path ${attrs} d="${d}"/></svg>`;
  const ICON_X = svg('M6 6l12 12M18 6L6 18', 24, 'fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"');

  // Text on the accent colour: white or near-black, whichever reads better.
  function onAccent(hex) {
    let x = hex.slice(1, hex.length > 5 ? 7 : 4);
    if (x.length === 3) x = x.replace(/./g, '$&$&');
    const [r, g, b] = [0, 2, 4].map((i) => ((parseInt(x.slice(i, i + 2), 16) / 255 + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 ? '#111827' : '#fff';
  }

  const CSS = `
:host{all:initial}*{box-sizing:border-box}[hidden]{display:none!important}
.root{--a:${color};--on:${onAccent(color)};font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f2328}
button{font:inherit;cursor:pointer}:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.launcher{position:fixed;bottom:20px;${side}:20px;z-index:2147483000;width:56px;height:56px;border:0;border-radius:50%;background:var(--a);color:var(--on);box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}
.launcher .i-x,.open .launcher .i-chat{display:none}.open .launcher .i-x{display:block}
.badge{position:absolute;top:-3px;right:-3px;min-width:20px;height:20px;padding:0 5px;border:2px solid #fff;border-radius:10px;background:#d1242f;color:#fff;font-size:11px;font-weight:700;line-height:16px;text-align:center}
.panel{position:fixed;bottom:88px;${side}:20px;z-index:2147483001;width:370px;height:min(600px,calc(100vh - 108px));display:flex;flex-direction:column;overflow:hidden;background:#fff;border-radius:14px;box-shadow:0 10px 40px rgba(0,0,0,.22)}
header{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--a);color:var(--on)}
h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.x{width:32px;height:32px;border:0;border-radius:8px;background:none;color:inherit;display:flex;align-items:center;justify-content:center}
.conn,.notice{padding:6px 14px;font-size:12px;background:#fff8c5;color:#4d2d00}
.list{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:8px 12px 12px;background:#f6f7f9}
.items{display:flex;flex-direction:column}
.more{display:block;margin:4px auto;border:0;background:none;color:#57606a;font-size:12px;text-decoration:underline}
.empty{margin:24px 8px;text-align:center;color:#57606a}
.msg{display:flex;flex-direction:column;align-items:flex-start;max-width:85%;margin-top:6px}
.msg.in{align-self:flex-end;align-items:flex-end}
.who{margin:8px 4px 2px;font-size:12px;color:#57606a}
.body{max-width:100%;padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere}
.out .body{background:#fff;border:1px solid #e1e4e8;border-bottom-left-radius:4px}
.in .body{background:var(--a);color:var(--on);border-bottom-right-radius:4px}
.body a{color:inherit}.att{display:block;margin-top:4px}.att:first-child{margin-top:0}
.att img{display:block;max-width:100%;max-height:220px;border-radius:8px}
.sending .body{opacity:.65}.failed .body{opacity:.5}
.meta{margin:2px 4px 0;font-size:11px;color:#6e7781}
.retry{border:0;padding:0;background:none;color:#d1242f;font-size:11px;text-decoration:underline}
form{display:flex;align-items:flex-end;gap:8px;margin:0;padding:10px;border-top:1px solid #e1e4e8}
textarea{flex:1;min-height:40px;max-height:120px;margin:0;padding:9px 12px;resize:none;border:1px solid #d0d7de;border-radius:10px;background:#fff;color:#1f2328;font:inherit}
textarea:focus{outline:2px solid var(--a);outline-offset:-1px}
.send{flex:none;width:40px;height:40px;border:0;border-radius:10px;background:var(--a);color:var(--on);display:flex;align-items:center;justify-content:center}
.send:disabled{opacity:.4;cursor:default}
@media (max-width:480px){.panel{top:0;right:0;bottom:0;left:0;width:auto;height:auto;border-radius:0}.open .launcher{display:none}textarea{font-size:16px}}
@media (prefers-reduced-motion:no-preference){.panel{animation:oc .15s ease-out}@keyframes oc{from{opacity:0;transform:translateY(8px)}}}`;

  // Static markup only: all dynamic text goes in through textContent.
  // (16px textarea on phones: iOS zooms into smaller inputs on focus.)
  const HTML = `<div class="root">
<div class="panel" id="oc-panel" role="dialog" aria-labelledby="oc-title" hidden>
<header><h2 id="oc-title"></h2><button type="button" class="x" aria-label="Close chat">${ICON_X}</button></header>
<div class="conn" role="status" hidden>Reconnecting…</div>
<div class="list" role="log" aria-live="polite" aria-relevant="additions">
<button type="button" class="more" hidden>Load earlier messages</button>
<div class="empty">Send us a message and we’ll answer right here.</div>
<div class="items"></div></div>
<div class="notice" role="alert" hidden></div>
<form><textarea rows="1" placeholder="Write a message…" aria-label="Message"></textarea>
<button type="submit" class="send" aria-label="Send" disabled>${svg('M3.4 20.4 21 12 3.4 3.6v6.4l12.6 2-12.6 2z', 20, 'fill="currentColor"')}</button></form>
</div>
<button type="button" class="launcher" aria-controls="oc-panel" aria-expanded="false" aria-label="Open chat">
<span class="i-chat">${svg('M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3-.1 1.3-.7 2.6-1.7 3.6 2 0 3.9-.7 5.3-1.8 1 .3 2.1.4 3.2.4 5.5 0 10-3.9 10-8.6S17.5 3 12 3z', 28, 'fill="currentColor"')}</span>
<span class="i-x">${ICON_X}</span><span class="badge" aria-hidden="true" hidden></span></button></div>`;

  function mount() {
    if (ui) return;
    // A tag no site CSS targets, plus inline all:initial!important, so even
    // `body > * {position:relative}` cannot trap our fixed-position panel.
    const host = document.createElement('omnichat-widget');
    host.setAttribute('style', 'all:initial!important');
    const shadow = host.attachShadow({ mode: 'open' });
    shadow.innerHTML = `<style>${CSS}</style>${HTML}`;
    const $ = (s) => shadow.querySelector(s);
    ui = {
      shadow, root: $('.root'), panel: $('.panel'), list: $('.list'), items: $('.items'), empty: $('.empty'), more: $('.more'),
      conn: $('.conn'), notice: $('.notice'), input: $('textarea'), send: $('.send'), bubble: $('.launcher'), badge: $('.badge'), pinned: true,
    };
    $('h2').textContent = title;
    ui.bubble.onclick = () => setOpen(!isOpen);
    $('.x').onclick = () => setOpen(false);
    ui.more.onclick = loadOlder;
    // Escape only while focus is inside the widget: the page may use it too.
    ui.root.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && isOpen) {
        ev.stopPropagation();
        setOpen(false);
      }
    });
    const submit = (ev) => {
      ev.preventDefault();
      if (send(ui.input.value)) {
        ui.input.value = ''; // cleared at once, so a second Enter has nothing to send twice
        ui.notice.hidden = true;
        autosize();
      }
      ui.input.focus();
    };
    $('form').onsubmit = submit;
    ui.input.addEventListener('keydown', (ev) => {
      // isComposing/229: this Enter confirms an IME composition (e.g. CJK input).
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) submit(ev);
    });
    ui.input.oninput = autosize;
    document.body.appendChild(host);
    render();
    if (wantOpen) setOpen(true);
  }

  // Read state waits until the tab is actually looked at.
  document.addEventListener('visibilitychange', () => render());

  window.omnichat = Object.freeze({
    version: '1',
    open: () => setOpen(true),
    close: () => setOpen(false),
    toggle: () => setOpen(!(ui ? isOpen : wantOpen)),
    // Used when the visitor is created; an existing visitor keeps its identity.
    identify(who) {
      if (who && typeof who.name === 'string') identity.name = who.name.trim();
      if (who && typeof who.email === 'string') identity.email = who.email.trim();
    },
  });

  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  // Returning visitor: connect now, not lazily, so an agent's reply shows up
  // as an unread badge. The first 'open' event loads the history.
  connect();
})();
