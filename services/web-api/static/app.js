/* The PresenceBus dashboard. Plain JavaScript, no framework, no build: it
   talks to web-api's REST API (docs/api.md) with the session cookie and the
   CSRF header, and keeps the extensions table live from the event stream
   (GET /api/events/stream). Every value from the server is written with
   textContent, never as HTML. */
"use strict";

const I18N = {
  en: {
    "nav.extensions": "Extensions", "nav.week": "Week", "nav.sources": "Sources",
    "nav.logs": "Logs", "nav.sites": "Sites", "nav.account": "Account",
    "live.on": "live", "live.off": "offline", "theme.toggle": "Dark / light",
    "logout": "Log out", "login.title": "Log in", "login.user": "User name",
    "login.password": "Password", "login.submit": "Log in",
    "ext.title": "Extensions", "ext.filter": "Filter", "ext.number": "Ext.",
    "ext.name": "Name", "ext.desired": "Desired", "ext.pbx": "PBX", "ext.cause": "Why",
    "ext.next": "Next change", "ext.override": "Override", "ext.planning": "Planning",
    "ext.count": "{n} extensions", "ext.force": "Override…", "ext.clear": "Clear",
    "ext.week": "Week", "ext.notsync": "not in sync", "ext.none": "—",
    "cause.override": "override", "cause.schedule": "planning", "cause.default": "default",
    "cause.planning_off": "planning off", "until": "until {t}", "untilcleared": "until cleared",
    "by": "by {who}",
    "week.title": "Week", "week.horizon": "Planning known until {t}.",
    "week.noplanning": "No planning received for this extension.",
    "week.override": "Override in force: {s} {u}",
    "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "src.title": "Sources", "src.id": "Id", "src.kind": "Kind", "src.name": "Name",
    "src.targets": "Extensions", "src.state": "State", "src.addurl": "Add a calendar link",
    "src.upload": "Upload a file (.ics, .csv, .json)", "src.ok": "ok",
    "src.refresh": "Refresh", "src.remove": "Remove", "src.confirm": "Remove source {id}?",
    "src.uploaded": "File imported.", "src.added": "Source saved.",
    "logs.title": "Logs", "logs.extension": "Extension", "logs.allkinds": "All kinds",
    "logs.from": "From", "logs.to": "To", "logs.apply": "Show", "logs.at": "When",
    "logs.kind": "Kind", "logs.actor": "Who", "logs.message": "What",
    "logs.page": "page {p} of {n} ({t} entries)",
    "sites.title": "PBX sites", "sites.name": "Site", "sites.state": "State",
    "sites.add": "Add or change a site", "sites.secret": "write-only",
    "sites.test": "Test connection", "sites.saved": "Site saved.",
    "acct.password": "Change my password", "acct.current": "Current password",
    "acct.new": "New password", "acct.tokens": "API tokens", "acct.tokenname": "Token name",
    "acct.users": "Users", "acct.newtoken": "Copy this token now, it is shown only once:",
    "acct.changed": "Password changed.", "acct.remove": "Remove",
    "ovr.title": "Force a status", "ovr.status": "Status", "ovr.duration": "Duration",
    "ovr.untilcleared": "until cleared", "ovr.reason": "Reason", "ovr.submit": "Apply",
    "ovr.done": "Override sent to the scheduler.", "ovr.cleared": "Override cleared.",
    "cancel": "Cancel", "add": "Add", "save": "Save", "upload": "Upload", "reload": "Reload",
    "planning.done": "Planning switched {v}.", "resync": "Reloaded after a gap in live events.",
    "planning.on": "on", "planning.off": "off", "lang": "Language",
    "role.admin": "admin", "role.readonly": "read-only",
    "week.ext": "Extension", "week.date": "Week", "week.prev": "Previous week",
    "week.next": "Next week",
    "set.title": "Settings", "set.default_status": "Default status", "set.timezone": "Time zone",
    "set.planning": "Planning", "set.servicedefault": "service default",
    "set.servicedefault.v": "service default ({v})", "set.saved": "Settings saved.",
    "slot.title": "Add a slot", "slot.day": "Day", "slot.start": "Start", "slot.end": "End",
    "slot.status": "Status", "slot.summary": "Summary",
    "slot.tz": "Times are in this browser's time zone ({tz}); the week above is shown in the service's.",
    "slot.added": "Slot saved.", "slot.outside": "Slot saved; it is outside the planning known now ({a} to {b}), so it shows only when that day comes within it.",
    "slot.removed": "Slot removed.", "slot.remove": "Remove", "slot.manual": "typed by hand",
    "slot.gone": "This slot is no longer in source {id}: reload the week.",
    "kind.apply": "applied", "kind.apply_failed": "apply failed", "kind.override": "override",
    "kind.error": "error", "kind.command": "command", "kind.login": "login",
    "kind.login_failed": "failed login", "kind.pbx_error": "PBX error",
    "kind.pbx_recovered": "PBX recovered", "kind.source": "source", "kind.settings": "settings",
    "kind.drift": "drift", "kind.user": "user", "kind.token": "token",
    "srckind.url": "calendar link", "srckind.ics": "uploaded calendar",
    "srckind.manual": "hand-typed slots", "srckind.weekly": "weekly planning",
    "srcstate.ok": "ok", "srcstate.error": "error", "srcstate.pending": "pending",
    "src.icsonly": "2000 (.ics only)", "src.line": "line {n}: ", "src.slots": "{n} slots", "src.slot1": "1 slot",
    "sitestate.starting": "starting", "sitestate.ok": "ok", "sitestate.unreachable": "unreachable",
    "sitestate.tls_failed": "TLS failed", "sitestate.api_disabled": "API disabled",
    "sitestate.forbidden": "forbidden (IP allow-list)", "sitestate.auth_failed": "authentication failed",
    "sitestate.token_limit": "token limit reached", "sitestate.error": "error",
    "sites.client_id": "Client ID", "sites.client_secret": "Client secret",
    "check.ok": "ok", "check.failed": "failed", "check.skipped": "skipped",
  },
  fr: {
    "nav.extensions": "Postes", "nav.week": "Semaine", "nav.sources": "Sources",
    "nav.logs": "Journal", "nav.sites": "Sites", "nav.account": "Compte",
    "live.on": "en direct", "live.off": "hors ligne", "theme.toggle": "Sombre / clair",
    "logout": "Se déconnecter", "login.title": "Connexion", "login.user": "Identifiant",
    "login.password": "Mot de passe", "login.submit": "Se connecter",
    "ext.title": "Postes", "ext.filter": "Filtrer", "ext.number": "Poste",
    "ext.name": "Nom", "ext.desired": "Voulu", "ext.pbx": "IPBX", "ext.cause": "Pourquoi",
    "ext.next": "Prochain changement", "ext.override": "Forçage", "ext.planning": "Planning",
    "ext.count": "{n} postes", "ext.force": "Forcer…", "ext.clear": "Lever",
    "ext.week": "Semaine", "ext.notsync": "pas à jour", "ext.none": "—",
    "cause.override": "forçage", "cause.schedule": "planning", "cause.default": "par défaut",
    "cause.planning_off": "planning désactivé", "until": "jusqu'à {t}",
    "untilcleared": "jusqu'à levée", "by": "par {who}",
    "week.title": "Semaine", "week.horizon": "Planning connu jusqu'au {t}.",
    "week.noplanning": "Aucun planning reçu pour ce poste.",
    "week.override": "Forçage en cours : {s} {u}",
    "days": ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"],
    "src.title": "Sources", "src.id": "Identifiant", "src.kind": "Type", "src.name": "Nom",
    "src.targets": "Postes", "src.state": "État", "src.addurl": "Ajouter un lien d'agenda",
    "src.upload": "Envoyer un fichier (.ics, .csv, .json)", "src.ok": "ok",
    "src.refresh": "Actualiser", "src.remove": "Supprimer",
    "src.confirm": "Supprimer la source {id} ?", "src.uploaded": "Fichier importé.",
    "src.added": "Source enregistrée.",
    "logs.title": "Journal", "logs.extension": "Poste", "logs.allkinds": "Tous les types",
    "logs.from": "Du", "logs.to": "Au", "logs.apply": "Afficher", "logs.at": "Quand",
    "logs.kind": "Type", "logs.actor": "Qui", "logs.message": "Quoi",
    "logs.page": "page {p} sur {n} ({t} entrées)",
    "sites.title": "Sites IPBX", "sites.name": "Site", "sites.state": "État",
    "sites.add": "Ajouter ou modifier un site", "sites.secret": "écriture seule",
    "sites.test": "Tester la connexion", "sites.saved": "Site enregistré.",
    "acct.password": "Changer mon mot de passe", "acct.current": "Mot de passe actuel",
    "acct.new": "Nouveau mot de passe", "acct.tokens": "Jetons d'API",
    "acct.tokenname": "Nom du jeton", "acct.users": "Utilisateurs",
    "acct.newtoken": "Copiez ce jeton maintenant, il n'est montré qu'une fois :",
    "acct.changed": "Mot de passe changé.", "acct.remove": "Supprimer",
    "ovr.title": "Forcer un statut", "ovr.status": "Statut", "ovr.duration": "Durée",
    "ovr.untilcleared": "jusqu'à levée", "ovr.reason": "Motif", "ovr.submit": "Appliquer",
    "ovr.done": "Forçage envoyé au scheduler.", "ovr.cleared": "Forçage levé.",
    "cancel": "Annuler", "add": "Ajouter", "save": "Enregistrer", "upload": "Envoyer",
    "reload": "Recharger", "planning.done": "Planning {v}.",
    "resync": "Rechargé après une interruption du direct.",
    "planning.on": "activé", "planning.off": "désactivé", "lang": "Langue",
    "role.admin": "administrateur", "role.readonly": "lecture seule",
    "week.ext": "Poste", "week.date": "Semaine", "week.prev": "Semaine précédente",
    "week.next": "Semaine suivante",
    "set.title": "Réglages", "set.default_status": "Statut par défaut", "set.timezone": "Fuseau horaire",
    "set.planning": "Planning", "set.servicedefault": "valeur du service",
    "set.servicedefault.v": "valeur du service ({v})", "set.saved": "Réglages enregistrés.",
    "slot.title": "Ajouter un créneau", "slot.day": "Jour", "slot.start": "Début", "slot.end": "Fin",
    "slot.status": "Statut", "slot.summary": "Libellé",
    "slot.tz": "Heures dans le fuseau de ce navigateur ({tz}) ; la semaine ci-dessus est affichée dans celui du service.",
    "slot.added": "Créneau enregistré.", "slot.outside": "Créneau enregistré ; il est hors du planning connu aujourd'hui ({a} au {b}) et n'apparaîtra que lorsque ce jour y entrera.",
    "slot.removed": "Créneau supprimé.", "slot.remove": "Supprimer", "slot.manual": "saisi à la main",
    "slot.gone": "Ce créneau n'est plus dans la source {id} : rechargez la semaine.",
    "kind.apply": "appliqué", "kind.apply_failed": "échec d'application", "kind.override": "forçage",
    "kind.error": "erreur", "kind.command": "commande", "kind.login": "connexion",
    "kind.login_failed": "connexion refusée", "kind.pbx_error": "erreur IPBX",
    "kind.pbx_recovered": "IPBX rétabli", "kind.source": "source", "kind.settings": "réglages",
    "kind.drift": "écart", "kind.user": "utilisateur", "kind.token": "jeton",
    "srckind.url": "lien d'agenda", "srckind.ics": "agenda envoyé",
    "srckind.manual": "créneaux saisis", "srckind.weekly": "planning hebdomadaire",
    "srcstate.ok": "ok", "srcstate.error": "erreur", "srcstate.pending": "en attente",
    "src.icsonly": "2000 (.ics seulement)", "src.line": "ligne {n} : ", "src.slots": "{n} créneaux", "src.slot1": "1 créneau",
    "sitestate.starting": "démarrage", "sitestate.ok": "ok", "sitestate.unreachable": "injoignable",
    "sitestate.tls_failed": "échec TLS", "sitestate.api_disabled": "API désactivée",
    "sitestate.forbidden": "refusé (liste d'adresses autorisées)",
    "sitestate.auth_failed": "authentification refusée",
    "sitestate.token_limit": "limite de jetons atteinte", "sitestate.error": "erreur",
    "sites.client_id": "Identifiant client", "sites.client_secret": "Secret client",
    "check.ok": "ok", "check.failed": "échec", "check.skipped": "non fait",
  },
};
const STATUSES = {
  en: { available: "Available", away: "Away", business_trip: "Business Trip",
        do_not_disturb: "Do Not Disturb", lunch: "Lunch Break", off_work: "Off Work" },
  fr: { available: "Disponible", away: "Absent", business_trip: "En déplacement",
        do_not_disturb: "Ne pas déranger", lunch: "Pause déjeuner", off_work: "Hors service" },
};

const state = { lang: "en", csrf: null, user: null, role: null, exts: new Map(),
                view: "extensions", es: null, logsPage: 1, weekDate: null, dialogExt: null,
                week: null, weekSeq: 0, settings: null, settingsExt: null };
const $ = (sel) => document.querySelector(sel);

function t(key, vars) {
  let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.en[key] || key;
  if (typeof s === "string" && vars)
    for (const [k, v] of Object.entries(vars)) s = s.replace("{" + k + "}", v);
  return s;
}
function statusText(s) { return s ? (STATUSES[state.lang][s] || s) : t("ext.none"); }
/* An API value shown in the language of the page (a log kind, a source's
   kind or state, a site's state, a role): the value itself when unknown. */
function valueText(prefix, v) {
  if (v === null || v === undefined || v === "") return "";
  const key = prefix + "." + v;
  const s = t(key);
  return s === key ? String(v) : s;
}
function roleText(r) { return valueText("role", r); }
function planningText(p) { return t(p === "off" ? "planning.off" : "planning.on"); }

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined)
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return e;
}

function fmtTime(iso) {
  if (!iso) return t("ext.none");
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const today = new Date();
  const opts = d.toDateString() === today.toDateString()
    ? { hour: "2-digit", minute: "2-digit" }
    : { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return d.toLocaleString(state.lang === "fr" ? "fr-FR" : "en-GB", opts);
}

function flash(msg, bad) {
  const f = $("#flash");
  f.textContent = msg;
  f.className = "flash" + (bad ? " bad" : "");
  f.hidden = false;
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { f.hidden = true; }, 6000);
}

/* ---- the API ---- */
class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || ("HTTP " + status));
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body, contentType) {
  const headers = {};
  if (state.csrf && method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  let data;
  if (body !== undefined) {
    if (contentType) { headers["Content-Type"] = contentType; data = body; }
    else { headers["Content-Type"] = "application/json"; data = JSON.stringify(body); }
  }
  const r = await fetch(path, { method, headers, body: data, credentials: "same-origin" });
  let json = null;
  try { json = await r.json(); } catch (e) { json = null; }
  if (r.status === 401 && path !== "/api/login") { showLogin(); }
  if (!r.ok) throw new ApiError(r.status, json);
  return json;
}

/* ---- language and theme ---- */
function setWhoami() {
  $("#whoami").textContent = state.user ? state.user + " (" + roleText(state.role) + ")" : "";
}

function statusOptions(sel, withDefault) {
  const cur = sel.value;
  const opts = Object.keys(STATUSES.en).map((s) => el("option", { value: s }, statusText(s)));
  if (withDefault) opts.unshift(el("option", { value: "" }, t("set.servicedefault")));
  sel.replaceChildren(...opts);
  if (cur || withDefault) sel.value = cur;
}

function applyI18n() {
  document.documentElement.lang = state.lang;
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  for (const e of document.querySelectorAll("[data-i18n-placeholder]"))
    e.placeholder = t(e.dataset.i18nPlaceholder);
  for (const e of document.querySelectorAll("[data-i18n-aria-label]"))
    e.setAttribute("aria-label", t(e.dataset.i18nAriaLabel));
  statusOptions($("#ovr-status"), false);
  statusOptions($("#slot-status"), false);
  statusOptions($("#set-status"), true);
  $("#slot-tz").textContent = t("slot.tz", { tz: browserZone() });
  setLive(state.es && state.es.readyState === 1);
  setWhoami();
  renderExtensions();
  renderSettings();
}

function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  localStorage.setItem("pb-theme", theme);
}

/* ---- login ---- */
function showLogin() {
  for (const v of document.querySelectorAll(".view")) v.hidden = true;
  $("#nav").hidden = true;
  $("#logout").hidden = true;
  state.user = null;
  setWhoami();
  $("#login-view").hidden = false;
  if (state.es) { state.es.close(); state.es = null; setLive(false); }
}

async function startSession(session) {
  state.csrf = session.csrf_token;
  state.user = session.user;
  state.role = session.role;
  document.body.classList.toggle("readonly", session.role !== "admin");
  callsSession(session);
  setWhoami();
  $("#logout").hidden = false;
  $("#nav").hidden = false;
  $("#login-view").hidden = true;
  await loadExtensions();
  connectEvents();
  show(location.hash.slice(1) || "extensions");
}

async function onLogin(ev) {
  ev.preventDefault();
  const f = ev.target;
  $("#login-error").textContent = "";
  try {
    const s = await api("POST", "/api/login", { username: f.username.value, password: f.password.value });
    f.password.value = "";
    await startSession(s);
  } catch (e) {
    $("#login-error").textContent = e.message;
  }
}

/* ---- views ---- */
const loaders = {
  extensions: () => {}, week: loadWeek, sources: loadSources, logs: loadLogs,
  sites: loadSites, account: loadAccount,
};
function show(view) {
  if (!loaders[view]) view = "extensions";
  state.view = view;
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== view + "-view";
  for (const b of document.querySelectorAll("nav button"))
    b.classList.toggle("active", b.dataset.view === view);
  if (location.hash !== "#" + view) history.replaceState(null, "", "#" + view);
  loaders[view]();
}

/* ---- extensions, live ---- */
function extKey(e) { return e.site + "/" + e.number; }

async function loadExtensions() {
  const r = await api("GET", "/api/extensions");
  state.exts = new Map(r.extensions.map((e) => [extKey(e), e]));
  renderExtensions();
  fillWeekSelect();
}

function statusChip(s) { return el("span", { class: "status " + (s || "") }, statusText(s)); }

function extRow(e) {
  const admin = state.role === "admin";
  const ov = e.override;
  const next = e.desired.next_change;
  const tr = el("tr", { id: "ext-" + e.site + "-" + e.number, "data-number": e.number },
    el("td", { class: "number" }, e.number),
    el("td", { class: "name" }, e.name || ""),
    el("td", { class: "desired" }, statusChip(e.desired.status)),
    el("td", { class: "pbx" }, statusChip(e.pbx.status),
       e.pbx.in_sync === false ? el("span", { class: "sync-bad", title: t("ext.notsync") }, "≠") : null),
    el("td", { class: "call" }, callCell(e)),
    el("td", { class: "cause" }, e.desired.cause ? valueText("cause", e.desired.cause) : t("ext.none"),
       e.desired.slot && e.desired.slot.summary ? el("div", { class: "muted small" }, e.desired.slot.summary) : null),
    el("td", { class: "next" }, next ? statusText(next.status) + " · " + fmtTime(next.at) : t("ext.none")),
    el("td", { class: "override" }, ov
      ? [statusText(ov.status) + " ", el("span", { class: "muted small" },
          (ov.until ? t("until", { t: fmtTime(ov.until) }) : t("untilcleared")) +
          (ov.by ? " · " + t("by", { who: ov.by }) : "") + (ov.reason ? " · " + ov.reason : ""))]
        .reduce((f, x) => { f.append(x); return f; }, document.createDocumentFragment())
      : t("ext.none")),
    el("td", { class: "planning" }, el("label", { class: "switch" },
      el("input", { type: "checkbox", class: "planning-switch", checked: e.planning !== "off",
                    disabled: !admin, onchange: (ev) => setPlanning(e, ev.target) }),
      planningText(e.planning))),
    el("td", { class: "actions-cell" },
      admin ? el("button", { type: "button", class: "override-btn admin-action",
                             onclick: () => openOverride(e) }, t("ext.force")) : null, " ",
      admin && ov ? el("button", { type: "button", class: "clear-btn admin-action",
                                   onclick: () => clearOverride(e) }, t("ext.clear")) : null, " ",
      el("button", { type: "button", onclick: () => { state.weekExt = extKey(e); show("week"); } },
         t("ext.week")), " ", dialButton(e)));
  return tr;
}

function renderExtensions() {
  const body = $("#ext-table tbody");
  if (!body) return;
  const q = ($("#ext-filter").value || "").toLowerCase();
  const rows = [];
  for (const e of state.exts.values())
    if (!q || e.number.includes(q) || (e.name || "").toLowerCase().includes(q)) rows.push(extRow(e));
  body.replaceChildren(...rows);
  $("#ext-count").textContent = t("ext.count", { n: state.exts.size });
}

function updateExtension(e) {
  const key = extKey(e);
  const isNew = !state.exts.has(key);
  state.exts.set(key, e);
  if (isNew) { renderExtensions(); fillWeekSelect(); return; }
  const old = document.getElementById("ext-" + e.site + "-" + e.number);
  if (!old) return;
  const row = extRow(e);
  row.classList.add("flash-row");
  old.replaceWith(row);
  if (state.view === "week" && state.weekExt === key) loadWeek();
}

function setLive(on) {
  const l = $("#live");
  l.className = "live " + (on ? "on" : "off");
  l.textContent = t(on ? "live.on" : "live.off");
}

function connectEvents() {
  if (state.es) state.es.close();
  const es = new EventSource("/api/events/stream");
  state.es = es;
  es.onopen = () => setLive(true);
  es.onerror = () => setLive(false);
  es.addEventListener("extension", (m) => updateExtension(JSON.parse(m.data)));
  es.addEventListener("resync", () => {
    loadExtensions(); flash(t("resync"));
    if (state.view === "calls") loadCalls();
  });
  callsListen(es);
  for (const kind of ["override", "apply", "apply_failed", "error", "source", "settings", "pbx_error"])
    es.addEventListener(kind, () => { if (state.view === "logs" && state.logsPage === 1) loadLogs(); });
  // Settings changed elsewhere (another admin, the API): show them.
  es.addEventListener("settings", (m) => {
    const ev = JSON.parse(m.data);
    if (state.view === "week" && state.settingsExt === ev.site + "/" + ev.ext && ev.settings)
      renderSettings(Object.assign({}, ev.settings, { site: ev.site, ext: ev.ext }), false);
  });
}

async function setPlanning(e, box) {
  try {
    await api("PUT", "/api/extensions/" + encodeURIComponent(e.number) + "/planning?site=" +
              encodeURIComponent(e.site), { enabled: box.checked });
    flash(t("planning.done", { v: planningText(box.checked ? "on" : "off") }));
  } catch (err) {
    box.checked = !box.checked;
    flash(err.message, true);
  }
}

function openOverride(e) {
  state.dialogExt = e;
  $("#ovr-ext").textContent = e.number + (e.name ? " " + e.name : "");
  $("#ovr-error").textContent = "";
  const f = $("#override-form");
  f.reason.value = "";
  f.status.value = e.override ? e.override.status : "away";
  $("#override-dialog").showModal();
}

async function submitOverride(ev) {
  ev.preventDefault();
  const f = ev.target;
  const e = state.dialogExt;
  const body = { status: f.status.value, reason: f.reason.value };
  if (f.minutes.value) body.minutes = parseInt(f.minutes.value, 10);
  $("#ovr-submit").disabled = true;
  try {
    await api("PUT", "/api/extensions/" + encodeURIComponent(e.number) + "/override?site=" +
              encodeURIComponent(e.site), body);
    $("#override-dialog").close();
    flash(t("ovr.done"));
  } catch (err) {
    $("#ovr-error").textContent = err.message;
  } finally {
    $("#ovr-submit").disabled = false;
  }
}

async function clearOverride(e) {
  try {
    await api("DELETE", "/api/extensions/" + encodeURIComponent(e.number) + "/override?site=" +
              encodeURIComponent(e.site));
    flash(t("ovr.cleared"));
  } catch (err) { flash(err.message, true); }
}

/* ---- a person's week ---- */
function fillWeekSelect() {
  const sel = $("#week-ext");
  const cur = state.weekExt || sel.value;
  sel.replaceChildren(...[...state.exts.values()].map((e) =>
    el("option", { value: extKey(e) }, e.number + (e.name ? " " + e.name : ""))));
  if (cur) sel.value = cur;
}

function isoDay(d) {
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" +
         String(d.getDate()).padStart(2, "0");
}

/* A local date and time of this browser ("2026-11-23T08:00") as RFC 3339
   in UTC, with this browser's offset for that date. */
function toIso(local) { return local ? new Date(local).toISOString().replace(/\.\d+Z$/, "Z") : ""; }

function browserZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; }
  catch (e) { return "UTC"; }
}

// The hand-typed slots of an extension live in one manual source.
function manualId(site, number) { return "manual-" + site + "-" + number; }

function dayLabel(i, d) { return t("days")[i] + " " + d.getDate() + "/" + (d.getMonth() + 1); }

async function loadWeek() {
  const sel = $("#week-ext");
  if (state.weekExt) sel.value = state.weekExt;
  const key = sel.value;
  if (!key) return null;
  state.weekExt = key;
  const [site, number] = key.split("/");
  const date = $("#week-date").value || isoDay(new Date());
  $("#week-date").value = date;
  if (state.settingsExt !== key) loadSettings(key);
  // Several loads may be under way (live events, a change): only the last shows.
  const seq = ++state.weekSeq;
  let w;
  try {
    w = await api("GET", "/api/extensions/" + encodeURIComponent(number) + "/week?site=" +
                  encodeURIComponent(site) + "&date=" + date);
  } catch (err) { flash(err.message, true); return null; }
  if (seq !== state.weekSeq) return w;
  state.week = w;
  const info = [];
  // The horizon ends at a local midnight (TIMEZONE): show that day, not a time.
  info.push(w.horizon ? t("week.horizon", { t: w.horizon.end.slice(0, 10) }) : t("week.noplanning"));
  if (w.override) info.push(t("week.override", { s: statusText(w.override.status),
    u: w.override.until ? t("until", { t: fmtTime(w.override.until) }) : t("untilcleared") }));
  $("#week-info").textContent = info.join(" ");
  const start = w.week_start.slice(0, 10);
  const manual = manualId(w.site, w.number);
  const admin = state.role === "admin";
  const days = [];
  const dayOptions = [];
  const base = new Date(start + "T12:00:00");
  const today = isoDay(new Date());
  for (let i = 0; i < 7; i++) {
    const d = new Date(base.getTime() + i * 86400000);
    const iso = isoDay(d);
    // A slot shows on every day it covers (not on the day it ends at 00:00).
    const slots = w.slots.filter((s) => {
      const a = s.start_local.slice(0, 10), b = s.end_local.slice(0, 10);
      return a <= iso && (iso < b || (iso === b && (a === b || s.end_local.slice(11) !== "00:00")));
    });
    days.push(el("div", { class: "day" + (iso === today ? " today" : ""), "data-day": iso },
      el("h4", {}, dayLabel(i, d)),
      ...slots.map((s) => {
        const mine = s.source === manual;
        return el("div", { class: "slot" + (mine ? " manual" : ""), "data-uid": s.uid || "" },
          admin && mine ? el("button", { type: "button", class: "slot-remove admin-action",
            title: t("slot.remove"), onclick: (ev) => removeSlot(s, ev.target) }, t("slot.remove")) : null,
          el("strong", {}, (s.start_local.slice(0, 10) === iso ? s.start_local.slice(11) : "…") + "–" +
             (s.end_local.slice(0, 10) === iso ? s.end_local.slice(11) : "…")), " ",
          statusChip(s.status), s.summary ? el("div", { class: "muted summary" }, s.summary) : null,
          el("div", { class: "muted small" }, mine ? t("slot.manual") : s.source));
      })));
    dayOptions.push(el("option", { value: iso }, dayLabel(i, d)));
  }
  $("#week-grid").replaceChildren(...days);
  const daySel = $("#slot-day");
  const curDay = daySel.value;
  daySel.replaceChildren(...dayOptions);
  daySel.value = dayOptions.some((o) => o.value === curDay) ? curDay
    : dayOptions.some((o) => o.value === today) ? today : dayOptions[0].value;
  return w;
}

/* The schedule reaches web-api a moment after ical-ingest accepts a change,
   and nothing on the event stream tells when: look again a few times until
   the week shows the change (done(week) is true) or some time has passed. */
function reloadWeekUntil(done) {
  const key = state.weekExt;
  const delays = [300, 700, 1000, 2000, 3000, 5000];
  let i = 0;
  const again = async () => {
    if (state.view !== "week" || state.weekExt !== key) return;
    const w = await loadWeek();
    if (w && done(w)) return;
    if (i < delays.length) setTimeout(again, delays[i++]);
  };
  setTimeout(again, delays[i++]);
}

function shiftWeek(days) {
  const d = new Date(($("#week-date").value || isoDay(new Date())) + "T12:00:00");
  d.setDate(d.getDate() + days);
  $("#week-date").value = isoDay(d);
  loadWeek();
}

/* ---- an extension's settings (the scheduler's) ---- */
async function loadSettings(key) {
  state.settingsExt = key;
  renderSettings(null, true);
  $("#settings-error").textContent = "";
  const [site, number] = key.split("/");
  try {
    const st = await api("GET", "/api/extensions/" + encodeURIComponent(number) + "/settings?site=" +
                         encodeURIComponent(site));
    if (state.settingsExt === key) renderSettings(st, true);
  } catch (err) {
    if (state.settingsExt === key) $("#settings-error").textContent = err.message;
  }
}

/* Shows st (or, without it, the settings already shown, e.g. in another
   language); with fillForm, puts them in the admin's form too. */
function renderSettings(st, fillForm) {
  if (st !== undefined) state.settings = st;
  const s = state.settings;
  const info = $("#settings-info");
  if (!info) return;
  if (!s) { info.replaceChildren(); }
  else {
    const eff = s.effective || {};
    const fact = (cls, label, value) => [el("dt", {}, label), el("dd", { class: cls }, value)];
    info.replaceChildren(
      ...fact("set-default", t("set.default_status"), s.default_status ? statusText(s.default_status)
        : t("set.servicedefault.v", { v: statusText(eff.default_status) })),
      ...fact("set-timezone", t("set.timezone"), s.timezone ? s.timezone
        : t("set.servicedefault.v", { v: eff.timezone || "" })),
      ...fact("set-planning", t("set.planning"), planningText(s.planning)));
  }
  if (fillForm) {
    const f = $("#settings-form");
    f.default_status.value = (s && s.default_status) || "";
    f.timezone.value = (s && s.timezone) || "";
  }
}

async function saveSettings(ev) {
  ev.preventDefault();
  const f = ev.target;
  const key = state.settingsExt;
  if (!key) return;
  const [site, number] = key.split("/");
  const body = { default_status: f.default_status.value || null,
                 timezone: f.timezone.value.trim() || null };
  $("#settings-error").textContent = "";
  $("#set-submit").disabled = true;
  try {
    const st = await api("PUT", "/api/extensions/" + encodeURIComponent(number) + "/settings?site=" +
                         encodeURIComponent(site), body);
    if (state.settingsExt === key) renderSettings(st, true);
    flash(t("set.saved"));
  } catch (err) {
    $("#settings-error").textContent = err.message;
  } finally {
    $("#set-submit").disabled = false;
  }
}

function fillZones() {
  let zones = [];
  try { if (Intl.supportedValuesOf) zones = Intl.supportedValuesOf("timeZone"); } catch (e) { zones = []; }
  if (!zones.length)
    zones = ["UTC", "Europe/Paris", "Europe/Brussels", "Europe/Zurich", "Europe/London",
             "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "America/New_York",
             "America/Chicago", "America/Los_Angeles", "America/Montreal", "Africa/Casablanca",
             "Indian/Reunion", "America/Martinique", "America/Guadeloupe", "Pacific/Noumea",
             "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney"];
  $("#tz-list").replaceChildren(...zones.map((z) => el("option", { value: z })));
}

/* ---- hand-typed slots (a manual source per extension) ---- */
async function manualSource(id) {
  const r = await api("GET", "/api/sources");
  return (r.sources || []).find((s) => s.id === id) || null;
}

// A slot as source/update takes it back (the fields source/list shows).
function slotBody(s) {
  const o = { start: s.start, end: s.end, status: s.status, summary: s.summary || "" };
  if (s.uid) o.uid = s.uid;
  return o;
}

async function addSlot(ev) {
  ev.preventDefault();
  const f = ev.target;
  const key = state.weekExt;
  if (!key) return;
  const [site, number] = key.split("/");
  const id = manualId(site, number);
  const slot = { start: toIso(f.day.value + "T" + f.start.value),
                 end: toIso(f.day.value + "T" + f.end.value),
                 status: f.status.value, summary: f.summary.value.trim(),
                 uid: id + ":" + Date.now().toString(36) + Math.random().toString(36).slice(2, 6) };
  $("#slot-error").textContent = "";
  $("#slot-submit").disabled = true;
  try {
    const src = await manualSource(id);
    if (src) {
      await api("PATCH", "/api/sources/" + encodeURIComponent(id),
                { slots: [...(src.slots || []).map(slotBody), slot] });
    } else {
      const e = state.exts.get(key);
      await api("POST", "/api/sources", { kind: "manual", id, site, extension: number,
        name: number + (e && e.name ? " " + e.name : ""), slots: [slot] });
    }
    f.summary.value = "";
    const h = state.week && state.week.horizon;
    if (h && (new Date(slot.end) <= new Date(h.start) || new Date(slot.start) >= new Date(h.end)))
      flash(t("slot.outside", { a: h.start.slice(0, 10), b: h.end.slice(0, 10) }));
    else flash(t("slot.added"));
    reloadWeekUntil((w) => w.slots.some((s) => s.uid === slot.uid));
  } catch (err) {
    $("#slot-error").textContent = err.message;
  } finally {
    $("#slot-submit").disabled = false;
  }
}

async function removeSlot(slot, button) {
  const id = slot.source;
  button.disabled = true;
  try {
    const src = await manualSource(id);
    const slots = (src && src.slots) || [];
    const rest = slots.filter((s) => s.uid !== slot.uid);
    if (rest.length === slots.length) throw new Error(t("slot.gone", { id }));
    // An empty list is accepted: the source stays, with no slot.
    await api("PATCH", "/api/sources/" + encodeURIComponent(id), { slots: rest.map(slotBody) });
    flash(t("slot.removed"));
    reloadWeekUntil((w) => !w.slots.some((s) => s.uid === slot.uid));
  } catch (err) {
    button.disabled = false;
    flash(err.message, true);
  }
}

/* ---- sources ---- */
async function loadSources() {
  $("#src-error").textContent = "…";
  let r;
  try { r = await api("GET", "/api/sources"); }
  catch (err) { $("#src-error").textContent = err.message; $("#src-table tbody").replaceChildren(); return; }
  $("#src-error").textContent = "";
  const list = r.sources || [];
  $("#src-table tbody").replaceChildren(...list.map((s) => {
    const err = s.state === "error" ? s.error : null;
    const when = s.last_success ? fmtTime(s.last_success) : null;
    return el("tr", { "data-source": s.id },
      el("td", {}, s.id), el("td", { class: "kind" }, valueText("srckind", s.kind)),
      el("td", {}, s.name || "", s.slots ? el("div", { class: "muted small" },
        s.slots.length === 1 ? t("src.slot1") : t("src.slots", { n: s.slots.length })) : null),
      el("td", {}, (s.extensions || []).join(", ")),
      el("td", { class: "state" + (err ? " error" : "") }, s.state ? valueText("srcstate", s.state) : t("src.ok"),
        err ? el("div", { class: "small" }, err) : null,
        when ? el("div", { class: "muted small" }, when) : null,
        s.first_warning ? el("div", { class: "muted small" }, s.first_warning) : null),
      el("td", {},
        el("button", { type: "button", class: "admin-action", onclick: () => sourceAction(s.id, "refresh") }, t("src.refresh")), " ",
        el("button", { type: "button", class: "admin-action", onclick: () => sourceAction(s.id, "remove") }, t("src.remove"))));
  }));
}

async function sourceAction(id, what) {
  try {
    if (what === "remove") {
      if (!confirm(t("src.confirm", { id }))) return;
      await api("DELETE", "/api/sources/" + encodeURIComponent(id));
    } else {
      await api("POST", "/api/sources/" + encodeURIComponent(id) + "/refresh", {});
    }
    loadSources();
  } catch (err) { $("#src-error").textContent = err.message; }
}

function extList(text) { return text.split(/[\s,;]+/).filter(Boolean); }

async function addUrlSource(ev) {
  ev.preventDefault();
  const f = ev.target;
  try {
    await api("POST", "/api/sources", { id: f.id.value, kind: "url", name: f.name.value,
      url: f.url.value, extensions: extList(f.extensions.value) });
    flash(t("src.added"));
    f.reset();
    loadSources();
  } catch (err) { $("#src-error").textContent = err.message; }
}

async function uploadFile(ev) {
  ev.preventDefault();
  const f = ev.target;
  const file = f.file.files[0];
  if (!file) return;
  const text = await file.text();
  const ext = file.name.toLowerCase().split(".").pop();
  try {
    if (ext === "ics") {
      await api("POST", "/api/sources", { id: f.id.value, kind: "ics", name: file.name,
        content: text, extensions: extList(f.extensions.value) });
    } else {
      await api("POST", "/api/sources/import", { format: ext === "json" ? "json" : "csv",
        content: text, source: f.id.value });
    }
    flash(t("src.uploaded"));
    loadSources();
  } catch (err) {
    const details = (err.body && err.body.details) || [];
    $("#src-error").textContent = err.message + (details.length ? "\n" + details.map((d) =>
      (d.line ? t("src.line", { n: d.line }) : d.where ? d.where + ": " : "") + d.error).join("\n") : "");
  }
}

/* ---- logs ---- */

async function loadLogs() {
  const f = $("#logs-form");
  const q = new URLSearchParams({ page: state.logsPage, per_page: 50 });
  if (f.extension.value) q.set("extension", f.extension.value.trim());
  if (f.kind.value) q.set("kind", f.kind.value);
  if (f.from.value) q.set("from", toIso(f.from.value));
  if (f.to.value) q.set("to", toIso(f.to.value));
  let r;
  try { r = await api("GET", "/api/logs?" + q); }
  catch (err) { flash(err.message, true); return; }
  $("#logs-table tbody").replaceChildren(...r.entries.map((e) => el("tr", { class: "log-" + e.kind },
    el("td", {}, fmtTime(e.at)), el("td", { class: "kind" }, valueText("kind", e.kind)),
    el("td", {}, e.extension ? (e.site !== "main" ? e.site + "/" : "") + e.extension : ""),
    el("td", {}, e.actor), el("td", { class: "message" }, e.message))));
  $("#logs-page").textContent = t("logs.page", { p: r.page, n: Math.max(r.pages, 1), t: r.total });
  $("#logs-prev").disabled = r.page <= 1;
  $("#logs-next").disabled = r.page >= r.pages;
}

/* ---- sites ---- */
async function loadSites() {
  $("#sites-error").textContent = "…";
  let r;
  try { r = await api("GET", "/api/sites"); }
  catch (err) { $("#sites-error").textContent = err.message; $("#sites-table tbody").replaceChildren(); return; }
  $("#sites-error").textContent = "";
  $("#sites-table tbody").replaceChildren(...(r.sites || []).map((s) => el("tr", {},
    el("td", {}, s.name), el("td", {}, s.url || ""),
    el("td", { class: "state" + (s.error ? " error" : "") }, valueText("sitestate", s.state),
       s.error ? el("div", { class: "small" }, s.error) : null,
       s.since ? el("div", { class: "muted small" }, fmtTime(s.since)) : null),
    el("td", {}, el("button", { type: "button", class: "admin-action",
      onclick: () => testSite(s.name) }, t("sites.test"))))));
}

async function testSite(name) {
  const out = $("#site-test");
  out.hidden = false;
  out.textContent = "…";
  try {
    const r = await api("POST", "/api/sites/" + encodeURIComponent(name) + "/test", {});
    out.textContent = checkLines(r.checks) || JSON.stringify(r, null, 2);
  } catch (err) {
    const details = (err.body && err.body.details) || [];
    out.textContent = err.message + (details.length ? "\n" + checkLines(details) : "");
  }
}

// The connection test's checks, one a line: "tls: ok — certificate verified".
function checkLines(checks) {
  return (checks || []).map((c) => c.check + ": " + valueText("check", c.result) +
    (c.detail ? " — " + c.detail : "")).join("\n");
}

async function saveSite(ev) {
  ev.preventDefault();
  const f = ev.target;
  const body = { name: f.name.value, url: f.url.value, client_id: f.client_id.value };
  if (f.client_secret.value) body.client_secret = f.client_secret.value;
  const exists = [...$("#sites-table tbody").children].some((tr) => tr.firstChild.textContent === body.name);
  try {
    if (exists) await api("PATCH", "/api/sites/" + encodeURIComponent(body.name), body);
    else await api("POST", "/api/sites", body);
    f.client_secret.value = "";
    flash(t("sites.saved"));
    loadSites();
  } catch (err) { $("#sites-error").textContent = err.message; }
}

/* ---- account ---- */
async function loadAccount() {
  try {
    const r = await api("GET", "/api/tokens");
    $("#tokens").replaceChildren(...r.tokens.map((k) => el("li", {},
      k.name + " (" + roleText(k.role) + ", " + k.user + ") ",
      el("button", { type: "button", onclick: formHandler(async () => {
        await api("DELETE", "/api/tokens/" + k.id); loadAccount(); }) }, t("acct.remove")))));
    if (state.role === "admin") {
      const u = await api("GET", "/api/users");
      $("#users").replaceChildren(...u.users.map((x) => el("li", { "data-user": x.name },
        x.name + " (" + roleText(x.role) + ") ",
        x.name !== state.user ? el("button", { type: "button", onclick: formHandler(async () => {
          await api("DELETE", "/api/users/" + encodeURIComponent(x.name)); loadAccount(); }) },
          t("acct.remove")) : null,
        x.role !== "admin" ? userExtsForm(x) : null)));
    }
  } catch (err) { flash(err.message, true); }
}

function formHandler(fn) {
  return async (ev) => {
    ev.preventDefault();
    try { await fn(ev.target); } catch (err) { flash(err.message, true); }
  };
}

/* ---- start ---- */
function init() {
  callsInit();
  state.lang = localStorage.getItem("pb-lang") ||
    ((navigator.language || "en").toLowerCase().startsWith("fr") ? "fr" : "en");
  $("#lang").value = state.lang;
  setTheme(localStorage.getItem("pb-theme") ||
    (window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  applyI18n();
  $("#lang").addEventListener("change", (e) => {
    state.lang = e.target.value; localStorage.setItem("pb-lang", state.lang); applyI18n();
    if (state.view !== "extensions" && state.user) loaders[state.view]();
  });
  $("#theme").addEventListener("click", () =>
    setTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark"));
  $("#login-form").addEventListener("submit", onLogin);
  $("#logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout", {}); } catch (e) { /* already out */ }
    state.csrf = null; showLogin();
  });
  for (const b of document.querySelectorAll("nav button"))
    b.addEventListener("click", () => show(b.dataset.view));
  $("#ext-filter").addEventListener("input", renderExtensions);
  $("#override-form").addEventListener("submit", submitOverride);
  $("#ovr-cancel").addEventListener("click", () => $("#override-dialog").close());
  $("#week-ext").addEventListener("change", (e) => { state.weekExt = e.target.value; loadWeek(); });
  $("#week-date").addEventListener("change", loadWeek);
  $("#week-prev").addEventListener("click", () => shiftWeek(-7));
  $("#week-next").addEventListener("click", () => shiftWeek(7));
  $("#settings-form").addEventListener("submit", saveSettings);
  $("#slot-form").addEventListener("submit", addSlot);
  fillZones();
  $("#src-reload").addEventListener("click", loadSources);
  $("#src-url-form").addEventListener("submit", addUrlSource);
  $("#src-upload-form").addEventListener("submit", uploadFile);
  $("#logs-form").addEventListener("submit", (e) => { e.preventDefault(); state.logsPage = 1; loadLogs(); });
  $("#logs-prev").addEventListener("click", () => { state.logsPage--; loadLogs(); });
  $("#logs-next").addEventListener("click", () => { state.logsPage++; loadLogs(); });
  $("#sites-reload").addEventListener("click", loadSites);
  $("#site-form").addEventListener("submit", saveSite);
  $("#password-form").addEventListener("submit", formHandler(async (f) => {
    await api("PUT", "/api/users/" + encodeURIComponent(state.user) + "/password",
              { current_password: f.current_password.value, password: f.password.value });
    f.reset(); flash(t("acct.changed"));
  }));
  $("#token-form").addEventListener("submit", formHandler(async (f) => {
    const r = await api("POST", "/api/tokens", { name: f.name.value, role: f.role.value });
    const out = $("#new-token");
    out.hidden = false;
    out.textContent = t("acct.newtoken") + "\n" + r.token;
    f.reset(); loadAccount();
  }));
  $("#user-form").addEventListener("submit", formHandler(async (f) => {
    await api("POST", "/api/users", { name: f.name.value, password: f.password.value, role: f.role.value });
    f.reset(); loadAccount();
  }));
  window.addEventListener("hashchange", () => { if (state.user) show(location.hash.slice(1)); });
  api("GET", "/api/session").then(startSession).catch(() => showLogin());
}

document.addEventListener("DOMContentLoaded", init);
