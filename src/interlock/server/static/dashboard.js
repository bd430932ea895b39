// Interlock dashboard: the little the server cannot do alone. No framework, no build step.
//
// 1. Live regions: the page follows the API's event stream (/api/v1/events, server-sent
//    events, from whichever replica made the change) and, on any event, fetches its own URL
//    again and swaps each element marked data-live for the fresh one. The server stays the
//    only renderer. A region with an unchanged data-key is left alone, so a note being typed
//    survives other people's votes.
// 2. Time left counts down every second from the server's clock (data-server-now), not the
//    phone's, and disables the vote buttons at zero; the server's "expired" event then
//    replaces them.
// 3. Forms with data-confirm ask first (the kill switch).
// 4. A region with data-poll="N" (the vault's backups) is also fetched again every N seconds:
//    a good backup raises no event, and its age grows by itself.
"use strict";

(function () {
  const body = document.body;
  const skew = Number(body.dataset.serverNow || 0) - Date.now() / 1000;
  const KINDS = [
    "created", "approve", "deny", "approved", "denied", "expired", "cancelled",
    "consumed", "killed", "resumed",
    "vault.backup_failed", "vault.drill_failed", "vault.stale", "vault.no_drill", "vault.recovered",
    "predestroy_snapshot", "vault.predestroy_failed",
  ];

  function serverNow() {
    return Date.now() / 1000 + skew;
  }

  function formatLeft(seconds) {
    const whole = Math.max(0, Math.floor(seconds));
    const h = Math.floor(whole / 3600);
    const m = Math.floor((whole % 3600) / 60);
    const s = String(whole % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  function tick() {
    const now = serverNow();
    document.querySelectorAll("[data-expires-at]").forEach(function (el) {
      const left = Number(el.dataset.expiresAt) - now;
      if (left > 0) {
        el.textContent = formatLeft(left) + " left";
        return;
      }
      el.textContent = "expired";
      el.classList.add("expired");
      const card = el.closest("[data-request]");
      if (card) {
        card.querySelectorAll(".vote-form button").forEach(function (b) { b.disabled = true; });
      }
    });
  }

  function localize(root) {
    root.querySelectorAll("time[data-ts]").forEach(function (el) {
      el.textContent = new Date(Number(el.dataset.ts) * 1000).toLocaleString();
    });
  }

  document.addEventListener("submit", function (event) {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  let busy = false;
  let again = false;

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(body.dataset.liveUrl, { credentials: "same-origin" });
      if (response.redirected) { window.location.assign(response.url); return; }
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      fresh.querySelectorAll("[data-live]").forEach(function (next) {
        const old = document.getElementById(next.id);
        if (!old) return;
        if (old.dataset.key !== undefined && old.dataset.key === next.dataset.key) return;
        const adopted = document.importNode(next, true);
        old.replaceWith(adopted);
        localize(adopted);
      });
      tick();
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  function follow() {
    const source = new EventSource("/api/v1/events?since=" + encodeURIComponent(body.dataset.since || ""));
    let opened = false;
    KINDS.forEach(function (kind) { source.addEventListener(kind, refresh); });
    source.addEventListener("open", function () {
      if (opened) refresh();  // reconnected: something may have happened meanwhile
      opened = true;
      document.getElementById("stale").hidden = true;
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) document.getElementById("stale").hidden = false;
    });
  }

  localize(document);
  tick();
  setInterval(tick, 1000);
  if (body.dataset.liveUrl) {
    follow();
    const polled = Array.from(document.querySelectorAll("[data-poll]"), function (el) {
      return Number(el.dataset.poll);
    }).filter(function (n) { return n > 0; });
    if (polled.length) setInterval(refresh, Math.min.apply(null, polled) * 1000);
  }
})();
