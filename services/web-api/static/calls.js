/* The dashboard's calls (docs/api.md, "Calls"): the live Calls board (calls
   in progress with their duration ticking, phones ringing or on a call,
   recent finished calls from the event stream), the call-state icon and the
   click-to-call button of the extensions table, the call log with its
   filters, CSV export, recordings player and per-extension statistics drawn
   as a small SVG bar chart. Loaded after app.js, whose helpers (t, el, api,
   state, flash, fmtTime) it uses; every server value goes in as text. */
"use strict";

Object.assign(I18N.en, {
  "nav.calls": "Calls", "nav.calllog": "Call log", "ext.call": "Call",
  "calls.title": "Calls", "calls.inprogress": "Calls in progress", "calls.phones": "Phones",
  "calls.recent": "Recent calls", "calls.none": "No call in progress.",
  "calls.nophone": "No phone ringing or on a call.", "calls.norecent": "No finished call yet.",
  "calls.from": "From", "calls.to": "To", "calls.direction": "Direction", "calls.state": "State",
  "calls.duration": "Duration", "calls.members": "Who", "calls.ext": "Ext.", "calls.peer": "Other party",
  "calls.when": "When", "calls.status": "Status", "calls.talk": "Talk", "calls.ring": "Ring",
  "calls.recording": "Recording", "calls.play": "Play", "calls.trunk": "Trunk",
  "callstate.idle": "idle", "callstate.ringing": "ringing", "callstate.dialing": "dialing",
  "callstate.talking": "on a call", "callstate.hold": "on hold",
  "dir.inbound": "inbound", "dir.outbound": "outbound", "dir.internal": "internal",
  "cdrstatus.answered": "answered", "cdrstatus.no_answer": "no answer", "cdrstatus.busy": "busy",
  "cdrstatus.failed": "failed", "cdrstatus.voicemail": "voicemail",
  "log.title": "Call log", "log.number": "Number", "log.ext": "Extension",
  "log.alldirections": "All directions", "log.allstatuses": "All statuses",
  "log.csv": "Export CSV", "log.page": "page {p} of {n} ({t} calls)",
  "stats.title": "Statistics per extension", "stats.show": "Show", "stats.group": "Period",
  "stats.calls": "Calls", "stats.answered": "Answered", "stats.missed": "Missed",
  "stats.talk": "Talk time", "stats.average": "Average", "stats.longest": "Longest",
  "stats.none": "No call in this period.", "stats.chart": "Calls per extension: answered and missed",
  "dial.title": "Call a number", "dial.ext": "From extension", "dial.number": "Number",
  "dial.submit": "Call", "dial.done": "Extension {ext} rings: pick it up to call {n}.",
  "dial.button": "Call…", "player.title": "Recording of call {id}",
  "acct.exts": "Extensions (calls)", "acct.extssaved": "Extensions of {name} saved.",
  "kind.call": "click-to-call", "kind.recording": "recording heard",
});
Object.assign(I18N.fr, {
  "nav.calls": "Appels", "nav.calllog": "Journal d'appels", "ext.call": "Appel",
  "calls.title": "Appels", "calls.inprogress": "Appels en cours", "calls.phones": "Téléphones",
  "calls.recent": "Derniers appels", "calls.none": "Aucun appel en cours.",
  "calls.nophone": "Aucun téléphone qui sonne ou en ligne.", "calls.norecent": "Aucun appel terminé pour l'instant.",
  "calls.from": "De", "calls.to": "Vers", "calls.direction": "Sens", "calls.state": "État",
  "calls.duration": "Durée", "calls.members": "Qui", "calls.ext": "Poste", "calls.peer": "Correspondant",
  "calls.when": "Quand", "calls.status": "Issue", "calls.talk": "Conversation", "calls.ring": "Sonnerie",
  "calls.recording": "Enregistrement", "calls.play": "Écouter", "calls.trunk": "Ligne",
  "callstate.idle": "libre", "callstate.ringing": "sonne", "callstate.dialing": "appelle",
  "callstate.talking": "en ligne", "callstate.hold": "en attente",
  "dir.inbound": "entrant", "dir.outbound": "sortant", "dir.internal": "interne",
  "cdrstatus.answered": "répondu", "cdrstatus.no_answer": "sans réponse", "cdrstatus.busy": "occupé",
  "cdrstatus.failed": "échec", "cdrstatus.voicemail": "messagerie",
  "log.title": "Journal d'appels", "log.number": "Numéro", "log.ext": "Poste",
  "log.alldirections": "Tous les sens", "log.allstatuses": "Toutes les issues",
  "log.csv": "Exporter en CSV", "log.page": "page {p} sur {n} ({t} appels)",
  "stats.title": "Statistiques par poste", "stats.show": "Afficher", "stats.group": "Période",
  "stats.calls": "Appels", "stats.answered": "Répondus", "stats.missed": "Manqués",
  "stats.talk": "Temps de conversation", "stats.average": "Moyenne", "stats.longest": "Le plus long",
  "stats.none": "Aucun appel sur cette période.", "stats.chart": "Appels par poste : répondus et manqués",
  "dial.title": "Appeler un numéro", "dial.ext": "Depuis le poste", "dial.number": "Numéro",
  "dial.submit": "Appeler", "dial.done": "Le poste {ext} sonne : décrochez pour appeler le {n}.",
  "dial.button": "Appeler…", "player.title": "Enregistrement de l'appel {id}",
  "acct.exts": "Postes (appels)", "acct.extssaved": "Postes de {name} enregistrés.",
  "kind.call": "appel lancé", "kind.recording": "enregistrement écouté",
});

const calls = { sites: new Map(), recent: [], logPage: 1, timer: null, myExts: [] };
const SVG = "http://www.w3.org/2000/svg";

/* "1:05" or "1:02:03" since an RFC 3339 time. */
function duration(seconds) {
  if (!(seconds >= 0)) return t("ext.none");
  const s = Math.floor(seconds % 60), m = Math.floor(seconds / 60) % 60, h = Math.floor(seconds / 3600);
  const two = (n) => String(n).padStart(2, "0");
  return h ? h + ":" + two(m) + ":" + two(s) : m + ":" + two(s);
}
function since(iso) {
  const d = Date.parse(iso);
  return isNaN(d) ? NaN : Math.max(0, (Date.now() - d) / 1000);
}
function ticker(iso) {
  return el("span", { class: "ticker", "data-since": iso || "" }, duration(since(iso)));
}
function tick() {
  for (const s of document.querySelectorAll(".ticker"))
    s.textContent = duration(since(s.dataset.since));
}

/* A phone handset, drawn: the call-state icon. */
function phoneIcon() {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "14");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(SVG, "path");
  p.setAttribute("d", "M3.6 1.5l2.1 2.6c.3.4.3.9 0 1.3L4.6 6.6a8.6 8.6 0 0 0 4.8 4.8l1.2-1.1" +
    "c.4-.3.9-.3 1.3 0l2.6 2.1c.4.3.4.9.1 1.3l-1.2 1.3c-.6.6-1.5.8-2.3.5A13.5 13.5 0 0 1 .5 4.4" +
    "c-.3-.8-.1-1.7.5-2.3L2.3 1.4c.4-.3 1-.3 1.3.1z");
  svg.append(p);
  return svg;
}
function callChip(c) {
  const st = c && c.state ? c.state : "idle";
  return el("span", { class: "callstate " + st, title: valueText("callstate", st) },
    phoneIcon(), " ", valueText("callstate", st));
}

/* The extensions table's call cell (app.js extRow): state, the other party
   and how long. */
function callCell(e) {
  const c = e.call;
  if (!c || !c.state || c.state === "idle") return el("span", { class: "muted" }, t("ext.none"));
  return el("span", {}, callChip(c), c.peer ? el("div", { class: "small" }, c.peer) : null,
    c.since ? el("div", { class: "muted small" }, ticker(c.since)) : null);
}

function mayDial(site, ext) {
  return state.role === "admin" || calls.myExts.some((x) => x.site === site && x.ext === ext);
}
/* The extensions table's click-to-call button (app.js extRow). */
function dialButton(e) {
  if (!mayDial(e.site, e.number)) return null;
  return el("button", { type: "button", class: "dial-btn", onclick: () => openDial(e.site, e.number) },
    t("dial.button"));
}

function openDial(site, ext) {
  const f = $("#dial-form");
  fillDialExts(f.ext);
  if (ext) f.ext.value = site + "/" + ext;
  $("#dial-error").textContent = "";
  $("#dial-dialog").showModal();
  f.number.focus();
}
function fillDialExts(sel) {
  const cur = sel.value;
  const list = state.role === "admin"
    ? [...state.exts.values()].map((e) => ({ site: e.site, ext: e.number, name: e.name }))
    : calls.myExts;
  sel.replaceChildren(...list.map((x) => el("option", { value: x.site + "/" + x.ext },
    x.ext + (x.name ? " " + x.name : "") + (x.site !== "main" ? " (" + x.site + ")" : ""))));
  if (cur) sel.value = cur;
}
async function submitDial(ev) {
  ev.preventDefault();
  const f = ev.target;
  const [site, ext] = f.ext.value.split("/");
  $("#dial-error").textContent = "";
  try {
    await api("POST", "/api/calls", { site, ext, number: f.number.value });
    $("#dial-dialog").close();
    flash(t("dial.done", { ext, n: f.number.value }));
    f.number.value = "";
  } catch (err) { $("#dial-error").textContent = err.message; }
}

/* The Account page's form for the extensions a readonly user owns (whose
   calls it sees and places): "2000, paris/3000". */
function userExtsForm(u) {
  const text = (u.extensions || []).map((x) => (x.site !== "main" ? x.site + "/" : "") + x.ext).join(", ");
  const input = el("input", { name: "extensions", value: text, placeholder: "2000, 2001",
                              "aria-label": t("acct.exts") });
  return el("form", { class: "inline user-exts", onsubmit: formHandler(async () => {
    const list = input.value.split(/[\s,;]+/).filter(Boolean);
    await api("PUT", "/api/users/" + encodeURIComponent(u.name) + "/extensions", { extensions: list });
    flash(t("acct.extssaved", { name: u.name }));
    loadAccount();
  }) }, el("span", { class: "muted small" }, t("acct.exts")), input,
  el("button", { type: "submit" }, t("save")));
}

/* ---- the Calls board ---- */
function sitesShown() {
  const s = new Set([...state.exts.values()].map((e) => e.site));
  if (!s.size) s.add("main");
  return [...s];
}

async function loadCalls() {
  for (const site of sitesShown()) {
    try { calls.sites.set(site, await api("GET", "/api/sites/" + encodeURIComponent(site) + "/calls")); }
    catch (err) { calls.sites.delete(site); }
  }
  if (!calls.recentLoaded) {
    calls.recentLoaded = true;
    try {
      const r = await api("GET", "/api/calls?page_size=10");
      calls.recent = (r.cdrs || []).concat(calls.recent).slice(0, 20);
    } catch (err) { /* a readonly user without extension, or call-log down */ }
  }
  renderCalls();
}

function members(c) {
  return (c.members || []).map((m) => m.number + " (" + valueText("callstate", m.state) + ")").join(", ");
}

function renderCalls() {
  if (state.view !== "calls") return;
  const live = [];
  for (const [site, sc] of calls.sites)
    for (const c of sc.calls || []) live.push(Object.assign({ site }, c));
  $("#calls-table tbody").replaceChildren(...live.map((c) => el("tr", { "data-call-id": c.call_id, class: "call " + c.state },
    el("td", { class: "state" }, callChip(c)),
    el("td", { class: "from" }, c.from || ""), el("td", { class: "to" }, c.to || ""),
    el("td", {}, valueText("dir", c.direction)),
    el("td", { class: "duration" }, ticker(c.answered || c.started)),
    el("td", { class: "members small" }, members(c)))));
  $("#calls-none").hidden = live.length > 0;
  const phones = [...state.exts.values()].filter((e) => e.call && e.call.state && e.call.state !== "idle");
  $("#phones-table tbody").replaceChildren(...phones.map((e) => el("tr", { "data-number": e.number, class: "phone " + e.call.state },
    el("td", {}, e.number + (e.name ? " " + e.name : "")), el("td", { class: "state" }, callChip(e.call)),
    el("td", {}, e.call.peer || ""), el("td", {}, valueText("dir", e.call.direction)),
    el("td", { class: "duration" }, ticker(e.call.since)))));
  $("#phones-none").hidden = phones.length > 0;
  $("#recent-table tbody").replaceChildren(...calls.recent.map(cdrRow));
  $("#recent-none").hidden = calls.recent.length > 0;
}

function cdrRow(c) {
  return el("tr", { "data-call-id": c.call_id, class: "cdr " + c.status },
    el("td", {}, fmtTime(c.start)), el("td", { class: "from" }, c.from || ""), el("td", { class: "to" }, c.to || ""),
    el("td", {}, valueText("dir", c.direction)),
    el("td", { class: "outcome" }, el("span", { class: "cdrstatus " + c.status }, valueText("cdrstatus", c.status))),
    el("td", {}, duration(c.talk_seconds)), el("td", {}, c.extension || ""),
    el("td", {}, c.recording ? el("button", { type: "button", class: "play-btn",
      onclick: () => play(c) }, "▶ " + t("calls.play")) : ""));
}

/* The event stream's part (app.js connectEvents). */
function callsListen(es) {
  es.addEventListener("calls", (m) => {
    const sc = JSON.parse(m.data);
    calls.sites.set(sc.site, sc);
    renderCalls();
  });
  es.addEventListener("cdr", (m) => {
    const c = JSON.parse(m.data);
    calls.recent = [c].concat(calls.recent.filter((x) => x.call_id !== c.call_id || x.site !== c.site)).slice(0, 20);
    renderCalls();
    if (state.view === "calllog" && calls.logPage === 1) loadCallLog();
  });
  es.addEventListener("extension", (m) => {
    if (JSON.parse(m.data).change === "call") renderCalls();
  });
}

/* ---- recordings ---- */
function play(c) {
  const a = $("#player");
  $("#player-title").textContent = t("player.title", { id: c.call_id });
  $("#player-box").hidden = false;
  a.src = "/api/calls/" + encodeURIComponent(c.site) + "/" + encodeURIComponent(c.call_id) + "/recording";
  a.play().catch(() => {});
}

/* ---- the call log ---- */
function logQuery(f) {
  const q = new URLSearchParams();
  for (const k of ["number", "ext", "direction", "status"])
    if (f[k].value.trim()) q.set(k, f[k].value.trim());
  if (f.from.value) q.set("from", toIso(f.from.value));
  if (f.to.value) q.set("to", toIso(f.to.value));
  return q;
}

async function loadCallLog() {
  const f = $("#calllog-form");
  fillExtFilter(f.ext);
  const q = logQuery(f);
  $("#calllog-csv").href = "/api/calls?" + new URLSearchParams([...q, ["format", "csv"]]);
  q.set("page", calls.logPage);
  q.set("page_size", 50);
  let r;
  try { r = await api("GET", "/api/calls?" + q); }
  catch (err) {
    $("#calllog-error").textContent = err.message;
    $("#calllog-table tbody").replaceChildren();
    return;
  }
  $("#calllog-error").textContent = "";
  $("#calllog-table tbody").replaceChildren(...(r.cdrs || []).map(cdrRow));
  const pages = Math.max(1, Math.ceil((r.total || 0) / (r.page_size || 50)));
  $("#calllog-page").textContent = t("log.page", { p: r.page || 1, n: pages, t: r.total || 0 });
  $("#calllog-prev").disabled = calls.logPage <= 1;
  $("#calllog-next").disabled = calls.logPage >= pages;
  loadStats();
}

/* A readonly user picks among its extensions; an admin types any. */
function fillExtFilter(input) {
  const list = $("#calllog-exts");
  const exts = state.role === "admin" ? [...state.exts.values()].map((e) => e.number)
                                      : calls.myExts.map((x) => x.ext);
  list.replaceChildren(...exts.map((n) => el("option", { value: n })));
  if (state.role !== "admin" && !input.value && calls.myExts.length > 1) input.value = calls.myExts[0].ext;
}

async function loadStats() {
  const f = $("#calllog-form");
  const q = logQuery(f);
  q.delete("direction");
  q.delete("status");
  q.set("top", 10);
  let r;
  try { r = await api("GET", "/api/calls/stats?" + q); }
  catch (err) { $("#stats-table tbody").replaceChildren(); $("#stats-chart").replaceChildren(); return; }
  const exts = r.extensions || [];
  $("#stats-none").hidden = exts.length > 0;
  $("#stats-table tbody").replaceChildren(...exts.map((x) => el("tr", { "data-ext": x.ext },
    el("td", {}, x.ext), el("td", {}, x.calls), el("td", {}, x.answered), el("td", {}, x.missed),
    el("td", {}, duration(x.talk_seconds)), el("td", {}, duration(x.average_talk_seconds)),
    el("td", {}, duration(x.longest_talk_seconds)))));
  $("#stats-chart").replaceChildren(barChart(exts.slice(0, 10)));
}

/* Horizontal bars, one per extension: answered then missed, to scale. */
function barChart(rows) {
  const svg = document.createElementNS(SVG, "svg");
  const rowH = 22, labelW = 70, width = 420, barW = width - labelW - 50;
  const max = Math.max(1, ...rows.map((x) => x.calls || 0));
  svg.setAttribute("viewBox", "0 0 " + width + " " + Math.max(rowH, rows.length * rowH));
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("stats.chart"));
  const title = document.createElementNS(SVG, "title");
  title.textContent = t("stats.chart");
  svg.append(title);
  rows.forEach((x, i) => {
    const y = i * rowH;
    const label = document.createElementNS(SVG, "text");
    label.setAttribute("x", labelW - 6);
    label.setAttribute("y", y + 15);
    label.setAttribute("text-anchor", "end");
    label.textContent = x.ext;
    svg.append(label);
    let at = labelW;
    for (const [cls, n] of [["answered", x.answered || 0], ["missed", x.missed || 0]]) {
      const w = barW * n / max;
      const r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", at);
      r.setAttribute("y", y + 4);
      r.setAttribute("width", Math.max(0, w));
      r.setAttribute("height", rowH - 8);
      r.setAttribute("class", "bar-" + cls);
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = t("stats." + cls) + ": " + n;
      r.append(tip);
      svg.append(r);
      at += w;
    }
    const total = document.createElementNS(SVG, "text");
    total.setAttribute("x", at + 4);
    total.setAttribute("y", y + 15);
    total.textContent = x.calls || 0;
    svg.append(total);
  });
  return svg;
}

function callsInit() {
  loaders.calls = loadCalls;
  loaders.calllog = loadCallLog;
  calls.timer = setInterval(tick, 1000);
  $("#calllog-form").addEventListener("submit", (e) => { e.preventDefault(); calls.logPage = 1; loadCallLog(); });
  $("#calllog-prev").addEventListener("click", () => { calls.logPage--; loadCallLog(); });
  $("#calllog-next").addEventListener("click", () => { calls.logPage++; loadCallLog(); });
  $("#dial-form").addEventListener("submit", submitDial);
  $("#dial-cancel").addEventListener("click", () => $("#dial-dialog").close());
  $("#calllog-dial").addEventListener("click", () => openDial());
}
/* The session's extensions (GET /api/session), for who may dial and see. */
function callsSession(session) {
  calls.myExts = session.extensions || [];
  document.body.classList.toggle("may-dial", state.role === "admin" || calls.myExts.length > 0);
}
