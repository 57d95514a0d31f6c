// The inbox, live: polls the server's stamp every 1.5 s and swaps in the list, the conversation and the fan
// panel when something landed; keyboard moves, saved replies on "/", Enter/Ctrl+Enter to send, a sound on demand.
(function () {
  "use strict";
  const root = document.getElementById("inbox");
  if (!root) return;
  const POLL_MS = 1500;
  const $ = (sel, el) => (el || document).querySelector(sel);
  const $$ = (sel, el) => Array.from((el || document).querySelectorAll(sel));
  const store = {
    get: (k) => { try { return localStorage.getItem("salesbot." + k); } catch (e) { return null; } },
    set: (k, v) => { try { localStorage.setItem("salesbot." + k, v); } catch (e) { /* private mode */ } },
  };
  let stamp = root.dataset.stamp, fanStamp = "", paused = false, awaiting = null, timer = null;
  const baseTitle = document.title;
  const bubbles = $("#bubbles"), composer = $("#composer"), text = composer && $("textarea", composer);
  const seen = composer && $("input[name=seen]", composer);

  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 40; }
  function toBottom() { if (bubbles) bubbles.scrollTop = bubbles.scrollHeight; }
  toBottom();

  function setTitle(n) {
    document.title = (n ? "(" + n + ") " : "") + baseTitle;
    const line = $("#awaiting-line");
    if (line) line.textContent = n ? n + " awaiting you" : "nothing awaiting you";
  }

  function beep() {
    if (store.get("sound") !== "1") return;
    try {
      const ctx = new (window.AudioContext || window.webkitAudioContext)();
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio */ }
  }

  async function poll() {
    if (paused) return schedule();
    const q = new URLSearchParams({ stamp: stamp, fan_stamp: fanStamp, fan: root.dataset.fan, show: root.dataset.show,
      query: window.location.search,
      creator: root.dataset.creator, visible: document.visibilityState === "visible" ? "1" : "0" });
    try {
      const r = await fetch(root.dataset.live + "?" + q, { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (r.ok) apply(await r.json());
      else if (r.status === 403 || r.status === 302) paused = true;
    } catch (e) { /* offline for a moment: try again next round */ }
    schedule();
  }
  // A tab in the background asks every 10 s (the title and the sound still tell); the visible one every 1.5 s.
  function schedule() { clearTimeout(timer); timer = setTimeout(poll, document.hidden ? 10000 : POLL_MS); }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { clearTimeout(timer); poll(); } });

  function apply(d) {
    stamp = d.stamp;
    if (!d.changed) return;
    if (d.fan_stamp !== undefined) fanStamp = d.fan_stamp;
    const list = $("#conversation-list");
    if (list && d.list !== undefined) list.innerHTML = d.list;
    if (list && d.rows !== undefined) patchRows(list, d.rows);
    // rows come shared by every tab, so this tab marks its own open conversation and moves their clocks
    if (list && root.dataset.fan) $$("li.conv", list).forEach((li) => li.classList.toggle("current", li.dataset.fan === root.dataset.fan));
    if (list && (d.list !== undefined || d.rows !== undefined)) retime();
    if (bubbles && d.bubbles !== undefined) {
      const stick = atBottom(bubbles);
      bubbles.innerHTML = d.bubbles;
      if (stick) toBottom();
    }
    const side = $("#side");
    if (side && d.side !== undefined && !side.contains(document.activeElement)
        && !$$("textarea, input[type=text]", side).some((el) => el.value)) side.innerHTML = d.side;
    if (seen && d.newest_in !== undefined && Number(d.newest_in) > Number(seen.value || 0)) {
      // The new message is on screen now. If the person is mid-sentence they may not have read it: the send
      // then stays held once (the server says so) rather than going out over it.
      if (!text || !text.value.trim()) seen.value = d.newest_in;
    }
    if (d.awaiting === undefined && d.rows !== undefined && list) {
      d.awaiting = $$("li.conv", list).filter((li) => li.dataset.awaitingMe === "1").length;
    }
    if (d.awaiting !== undefined) {
      if (awaiting !== null && d.awaiting > awaiting) beep();
      awaiting = d.awaiting; setTitle(awaiting);
    }
  }

  // Clocks in the browser: the server renders each row once per change and shares it between tabs, so the
  // waiting times and the response-target labels move on here (the server's wording: salesbot.inbox.selectors).
  function dur(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function retime() {
    const now = Date.now() / 1000;
    $$("#conversation-list li.conv").forEach((li) => {
      const wait = $(".conv-wait", li), since = Number(li.dataset.since), last = Number(li.dataset.last);
      if (wait) wait.textContent = since ? "waiting " + dur(now - since) : last ? dur(now - last) + " ago" : "";
      const t = $("[data-deadline]", li);
      if (!t) return;
      const minutes = Number(t.dataset.minutes), left = Number(t.dataset.deadline) - now;
      const state = left < 0 ? "breached" : left < Math.max(60, minutes * 12) ? "soon" : "within";
      t.classList.remove("target-within", "target-soon", "target-breached");
      t.classList.add("target-" + state);
      t.textContent = "⏱ " + (state === "breached" ? "target " + minutes + " min: breached by " + dur(-left)
        : state === "soon" ? "due in " + dur(left) : dur(left) + " left");
    });
  }
  setInterval(retime, 10000);

  // The live feed's changed rows: replaced, added or removed, then the list sorted as the server sorts it
  // (needs a person and waiting first, then the wait weighted by what the fan is worth, then the latest).
  const MAX_ROWS = 80;
  function patchRows(list, rows) {
    Object.entries(rows).forEach(([pk, html]) => {
      const old = list.querySelector('li.conv[data-fan="' + pk + '"]');
      if (!html) { if (old) old.remove(); return; }
      const holder = document.createElement("ol");
      holder.innerHTML = html.trim();
      const li = holder.firstElementChild;
      if (old) old.replaceWith(li); else list.appendChild(li);
    });
    const empty = $("li.conv-empty", list);
    const items = $$("li.conv", list);
    if (empty && items.length) empty.remove();
    const now = Date.now() / 1000;
    const key = (li) => [Number(li.dataset.group),
      -(Number(li.dataset.since) ? (now - Number(li.dataset.since)) * Number(li.dataset.value) : 0),
      -Number(li.dataset.last)];
    items.sort((a, b) => {
      const x = key(a), y = key(b);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
      return 0;
    });
    items.forEach((li, i) => { if (i < MAX_ROWS) list.appendChild(li); else li.remove(); });
  }

  // --- sound and keys help ----------------------------------------------------------------------
  const sound = $("#sound-toggle");
  function showSound() { const on = store.get("sound") === "1"; sound.textContent = on ? "🔔 sound on" : "🔕 sound off"; sound.setAttribute("aria-pressed", String(on)); }
  if (sound) { showSound(); sound.addEventListener("click", () => { store.set("sound", store.get("sound") === "1" ? "0" : "1"); showSound(); beep(); }); }
  const overlay = $("#keys-overlay");
  function toggleHelp(show) { if (overlay) overlay.hidden = !(show === undefined ? overlay.hidden : show); }
  const help = $("#keys-help"); if (help) help.addEventListener("click", () => toggleHelp(true));
  const close = $("#keys-close"); if (close) close.addEventListener("click", () => toggleHelp(false));

  function typing(el) { return el && (el.tagName === "TEXTAREA" || el.tagName === "INPUT" || el.tagName === "SELECT" || el.isContentEditable); }
  function move(step) {
    const rows = $$("#conversation-list li.conv");
    if (!rows.length) return;
    let i = rows.findIndex((li) => li.classList.contains("current"));
    i = i < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, i + step));
    const a = $("a", rows[i]); if (a) window.location.href = a.href;
  }
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { toggleHelp(false); hidePicker(); return; }
    if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); move(1); }
    else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); move(-1); }
    else if (e.key === "?") { e.preventDefault(); toggleHelp(); }
    else if ((e.key === "c" || e.key === "/") && text) { e.preventDefault(); text.focus(); if (e.key === "/" && !text.value) { text.value = "/"; showPicker(); } }
  });

  window.salesbotInbox = { pause: () => { paused = true; }, resume: () => { paused = false; poll(); } };
  if (root.dataset.awaiting !== undefined) { awaiting = Number(root.dataset.awaiting); setTitle(awaiting); }
  schedule();

  // --- composer: send keys, saved replies, vault price ---------------------------------------------
  if (!composer) return;
  const enter = $("#enter-sends");
  enter.checked = store.get("enterSends") === "1";
  enter.addEventListener("change", () => store.set("enterSends", enter.checked ? "1" : "0"));
  let sending = false;
  composer.addEventListener("submit", (e) => {
    if (sending) { e.preventDefault(); return; }
    sending = true; const b = $("#send-button"); if (b) { b.disabled = true; b.textContent = "Sending…"; }
  });

  const replies = JSON.parse(($("#saved-replies") || { textContent: "[]" }).textContent || "[]");
  const picker = $("#reply-picker");
  let choice = 0, shown = [];
  function hidePicker() { if (picker) picker.hidden = true; }
  function showPicker() {
    const term = text.value.slice(1).toLowerCase();
    shown = replies.filter((r) => (r.title + " " + r.text).toLowerCase().includes(term)).slice(0, 12);
    picker.innerHTML = "";
    shown.forEach((r, i) => {
      const li = document.createElement("li");
      const b = document.createElement("b"); b.textContent = r.title; li.appendChild(b);
      li.appendChild(document.createTextNode(r.text));
      if (i === choice) li.className = "on";
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(i); });
      picker.appendChild(li);
    });
    picker.hidden = !shown.length;
  }
  function pick(i) { if (shown[i]) { text.value = shown[i].text; hidePicker(); text.focus(); } }
  text.addEventListener("input", () => { if (text.value.startsWith("/")) { choice = 0; showPicker(); } else hidePicker(); });
  text.addEventListener("keydown", (e) => {
    if (picker && !picker.hidden) {
      if (e.key === "ArrowDown") { e.preventDefault(); choice = Math.min(shown.length - 1, choice + 1); showPicker(); return; }
      if (e.key === "ArrowUp") { e.preventDefault(); choice = Math.max(0, choice - 1); showPicker(); return; }
      if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); pick(choice); return; }
    }
    if (e.key === "Enter" && ((e.ctrlKey || e.metaKey) || (enter.checked && !e.shiftKey))) {
      e.preventDefault(); if (composer.requestSubmit) composer.requestSubmit(); else composer.submit();
    }
  });

  const price = $("input[name=price]", composer);
  let autoPrice = true;
  if (price) price.addEventListener("input", () => { autoPrice = false; });
  $$("input[name=content_key]", composer).forEach((radio) => radio.addEventListener("change", () => {
    if (price && (autoPrice || !price.value)) { price.value = radio.dataset.price || ""; autoPrice = true; }
    const summary = $("#vault-picker summary"); if (summary) summary.textContent = radio.value ? "Vault: " + radio.value : "Vault";
  }));

})();
