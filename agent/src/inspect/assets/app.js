// hookrelay inspector: plain JavaScript, no framework, no build step.
// Every piece of captured data reaches the page through textContent (the el() helper below);
// nothing from a webhook is ever parsed as HTML.
"use strict";

const TOKEN = document.querySelector('meta[name="hookrelay-token"]').content;
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return node;
}

async function api(path, options) {
  const resp = await fetch(path, options);
  const text = await resp.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = { error: text }; }
  return { ok: resp.ok, status: resp.status, body };
}

function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function duration(ms) {
  if (ms === null || ms === undefined) return "…";
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function statusText(row) {
  if (row.status_class === "verified") return "✓ verified";
  if (row.status !== null && row.status !== undefined) return String(row.status);
  if (row.status_class === "pending") return "…";
  return "failed";
}

function markers(row) {
  const out = [];
  if (row.kind === "verification") out.push(el("span", { class: "tag verify", title: "Okta verification answered by the relay", text: "verification" }));
  if (row.duplicate) out.push(el("span", { class: "tag dup", title: "Okta redelivered an event already seen", text: "duplicate" }));
  if (row.replay_of) out.push(el("span", { class: "tag replay", title: `replay of ${row.replay_of}`, text: "replay" }));
  if (row.inline) {
    const pct = row.inline.budget_pct;
    out.push(el("span", { class: `tag budget ${pct > 33 ? "warn" : ""}`, title: "share of Okta's 3 s inline-hook budget", text: `${pct.toFixed(0)}% of 3 s` }));
    if (row.inline.warnings.length) out.push(el("span", { class: "tag warn", title: row.inline.warnings.join("\n"), text: "⚠" }));
  }
  return out;
}

// ---------- the list ----------

const list = { rows: new Map(), order: [], cursor: null, selected: 0, picked: new Set(), types: new Set() };

function filters() {
  return { q: $("q").value.trim(), status: $("status").value, type: $("type").value.trim() };
}

function query(extra) {
  const f = filters();
  const p = new URLSearchParams();
  if (f.q) p.set("q", f.q);
  if (f.status) p.set("status", f.status);
  if (f.type) p.set("type", f.type);
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p.toString();
}

async function loadList(append) {
  const extra = append && list.cursor ? { before: list.cursor } : {};
  const r = await api(`/api/events?${query(extra)}`);
  if (!r.ok) { showListError(r.body && r.body.error); return; }
  if (!append) { list.rows.clear(); list.order = []; list.selected = 0; }
  for (const row of r.body.events) { list.rows.set(row.id, row); list.order.push(row.id); noteTypes(row); }
  list.cursor = r.body.next_cursor;
  renderList();
}

function showListError(msg) {
  $("empty").hidden = false;
  $("empty").textContent = msg || "could not load events";
}

function noteTypes(row) {
  for (const t of [...(row.event_types || []), row.hook_type]) {
    if (t && t !== "com.okta.event_hook" && !list.types.has(t)) {
      list.types.add(t);
      $("types").append(el("option", { value: t }));
    }
  }
}

// A live row is shown only if it passes the filters the page can check itself; a body search
// cannot be checked here, so with one active the row waits for the next reload.
function passes(row) {
  const f = filters();
  if (f.status && !f.status.split(",").includes(row.status_class)) return false;
  if (f.type && row.hook_type !== f.type && !(row.event_types || []).includes(f.type)) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    const hay = [row.path, row.summary || "", String(row.status || "")].join(" ").toLowerCase();
    if (!hay.includes(q)) return false;
  }
  return true;
}

function liveRow(row) {
  noteTypes(row);
  const known = list.rows.has(row.id);
  if (!known && !passes(row)) return;
  list.rows.set(row.id, row);
  if (!known) {
    list.order.unshift(row.id);
    if (list.selected > 0) list.selected += 1;
  }
  if (route().view === "list") renderList();
  else if (current && current.id === row.id) openEvent(row.id, true);
}

function renderList() {
  const body = $("rows");
  body.replaceChildren(...list.order.map((id, i) => rowNode(list.rows.get(id), i)));
  $("empty").hidden = list.order.length > 0;
  $("empty").textContent = filters().q || filters().status || filters().type
    ? "No event matches these filters."
    : "No events yet. Send one with `agent trigger user.lifecycle.create`.";
  $("more").hidden = !list.cursor;
  $("compare").disabled = list.picked.size !== 2;
}

function rowNode(row, i) {
  const tr = el("tr", {
    class: `status-${row.status_class}${i === list.selected ? " selected" : ""}`,
    "data-id": row.id,
    "aria-selected": i === list.selected ? "true" : "false",
    onclick: (e) => { if (e.target.type !== "checkbox") go(`/events/${row.id}`); },
  },
    el("td", { class: "sel" }, el("input", {
      type: "checkbox", "aria-label": "select", checked: list.picked.has(row.id),
      onchange: (e) => { togglePick(row.id, e.target.checked); },
    })),
    el("td", { class: "time", title: new Date(row.received_at_ms).toISOString(), text: clock(row.received_at_ms) }),
    el("td", { class: "method", text: row.method }),
    el("td", { class: "path" }, el("a", { href: `/events/${row.id}`, text: row.path, onclick: (e) => { e.preventDefault(); go(`/events/${row.id}`); } })),
    el("td", { class: "summary", text: row.summary || "" }),
    el("td", { class: "status", title: row.error || "", text: statusText(row) }),
    el("td", { class: "duration", text: row.kind === "verification" ? "" : duration(row.duration_ms) }),
    el("td", { class: "markers" }, markers(row)),
  );
  return tr;
}

// Older event on the left, so a replay's edits show as additions.
function compareSelected() {
  const when = (id) => (list.rows.get(id) || { received_at_ms: 0 }).received_at_ms;
  const [a, b] = [...list.picked].sort((x, y) => when(x) - when(y));
  go(`/compare/${a}/${b}`);
}

function togglePick(id, on) {
  if (on) list.picked.add(id); else list.picked.delete(id);
  $("compare").disabled = list.picked.size !== 2;
}

function moveSelection(by) {
  if (!list.order.length) return;
  list.selected = Math.max(0, Math.min(list.order.length - 1, list.selected + by));
  renderList();
  const tr = $("rows").children[list.selected];
  if (tr) tr.scrollIntoView({ block: "nearest" });
}

function download(format, ids) {
  const p = new URLSearchParams({ format });
  if (ids && ids.length) p.set("ids", ids.join(","));
  window.location.assign(`/api/export?${p}`);
}

// ---------- live stream ----------

function connectLive() {
  const live = $("live");
  const source = new EventSource("/api/stream");
  source.addEventListener("ready", () => { live.textContent = "● live"; live.className = "live on"; });
  source.addEventListener("row", (e) => liveRow(JSON.parse(e.data)));
  source.addEventListener("resync", () => loadList(false));
  source.onerror = () => { live.textContent = "○ reconnecting"; live.className = "live off"; };
}

// ---------- one event ----------

let current = null;
let opening = 0;

async function openEvent(id, quiet) {
  const mine = ++opening;
  const r = await api(`/api/events/${encodeURIComponent(id)}`);
  // A later navigation won the race: its answer, not this one, is shown.
  if (mine !== opening) return;
  if (!r.ok) {
    current = null;
    $("summary").replaceChildren(el("p", { class: "error", text: (r.body && r.body.error) || `error ${r.status}` }));
    for (const p of ["request-pane", "response-pane"]) $(p).querySelector(".content").replaceChildren();
    return;
  }
  current = r.body;
  if (!quiet) { $("editor").hidden = true; $("notice").hidden = true; }
  renderSummary(current);
  renderRequest(current);
  renderResponse(current);
}

function kv(label, value, cls) {
  return [el("dt", { text: label }), el("dd", { class: cls || "" }, value)];
}

function eventLink(id, label) {
  return el("a", { href: `/events/${id}`, onclick: (e) => { e.preventDefault(); go(`/events/${id}`); }, text: label || id });
}

function renderSummary(c) {
  const t = c.timings;
  const rel = (ms) => (ms === null || ms === undefined ? "—" : `+${ms - t.received_at_ms} ms`);
  const items = [
    kv("id", c.id, "mono"),
    kv("status", `${statusText(c)}${c.error ? ` — ${c.error}` : ""}`, `status-${c.status_class}`),
    kv("received", `${new Date(t.received_at_ms).toLocaleString()} (${clock(t.received_at_ms)})`),
    kv("delivered", rel(t.delivered_at_ms)),
    kv("answered", rel(t.answered_at_ms)),
    kv("round trip", t.duration_us === null ? "…" : duration(t.duration_us / 1000)),
    kv("target", c.target_url || "— (answered by the relay)", "mono"),
    kv("source", `${c.source}${c.seq !== null ? ` · seq ${c.seq}` : ""}`),
  ];
  if (c.summary) items.push(kv("Okta", c.summary));
  if (c.okta && c.okta.event_id) items.push(kv("eventId", c.okta.event_id, "mono"));
  if (c.inline) {
    const warn = c.inline.warnings.length ? c.inline.warnings.map((w) => el("div", { class: "warn", text: `⚠ ${w}` })) : [el("div", { class: "ok", text: "reply passes the checks Okta makes" })];
    items.push(kv("inline hook", [el("div", { text: `${c.inline.budget_used_ms.toFixed(1)} ms of Okta's 3,000 ms budget (${c.inline.budget_pct.toFixed(0)}%)` }), ...warn]));
  }
  if (c.replay_of) items.push(kv("replay of", eventLink(c.replay_of)));
  const attempts = [el("li", {}, c.replay_of ? "this replay" : "original delivery", ` — ${statusText(c)}`)];
  for (const id of c.replays || []) attempts.push(el("li", {}, "replay ", eventLink(id)));
  items.push(kv("deliveries", el("ol", { class: "attempts" }, attempts)));
  $("summary").replaceChildren(
    el("h1", {}, el("span", { class: "method", text: c.method }), " ", el("span", { class: "path", text: c.path }), " ", ...markers(c)),
    el("dl", {}, items.flat()),
  );
}

function headersTable(headers) {
  if (!headers.length) return el("p", { class: "dim", text: "no headers" });
  return el("table", { class: "headers" }, el("tbody", {}, headers.map(([name, value]) =>
    el("tr", {}, el("th", { text: name }), el("td", { text: typeof value === "string" ? value : `(binary) ${value.b64}` })))));
}

function renderRequest(c) {
  const r = c.request;
  const line = `${r.method} ${c.path}`;
  $("request-pane").querySelector(".content").replaceChildren(
    el("div", { class: "start-line mono", text: line }),
    headersTable(r.headers),
    bodyView(r.body, c.id, "request"),
  );
}

function renderResponse(c) {
  const box = $("response-pane").querySelector(".content");
  if (!c.response) {
    box.replaceChildren(el("p", { class: c.status_class === "pending" ? "dim" : "error", text: c.error ? `No answer: ${c.error}` : c.status_class === "pending" ? "waiting for the local service…" : "no response" }));
    return;
  }
  box.replaceChildren(
    el("div", { class: "start-line mono", text: `HTTP ${c.response.status}` }),
    headersTable(c.response.headers),
    bodyView(c.response.body, c.id, "response"),
  );
}

function bodyView(b, id, part) {
  const wrap = el("div", { class: "body", "data-part": part });
  const head = el("div", { class: "body-head dim", text: `body · ${b.size} bytes · ${b.kind}` });
  wrap.append(head);
  if (b.size === 0) { wrap.append(el("p", { class: "dim", text: "(empty)" })); return wrap; }
  if (b.truncated) {
    const btn = el("button", { type: "button", text: `Load the ${b.size}-byte body`, onclick: async () => {
      btn.disabled = true;
      const resp = await fetch(`/api/events/${id}/body/${part}`);
      const bytes = new Uint8Array(await resp.arrayBuffer());
      btn.replaceWith(b.kind === "binary" ? hexView(bytes) : textOrJson(new TextDecoder().decode(bytes), b.kind));
    } });
    wrap.append(btn);
    return wrap;
  }
  if (typeof b.data === "string") wrap.append(textOrJson(b.data, b.kind));
  else wrap.append(hexView(Uint8Array.from(atob(b.data.b64), (ch) => ch.charCodeAt(0))));
  return wrap;
}

function textOrJson(text, kind) {
  if (kind === "json") {
    try { return el("div", { class: "json mono" }, jsonNode(JSON.parse(text), null, 0)); } catch (_) { /* shown as text */ }
  }
  return el("pre", { class: "text mono", text });
}

// JSON as a tree of <details> (collapsible with the keyboard too); values as text nodes.
function jsonNode(value, key, depth) {
  const keyPart = key === null ? [] : [el("span", { class: "j-key", text: JSON.stringify(key) }), ": "];
  if (value !== null && typeof value === "object") {
    const isArr = Array.isArray(value);
    const entries = isArr ? value.map((v, i) => [i, v]) : Object.entries(value);
    const [open, close] = isArr ? ["[", "]"] : ["{", "}"];
    if (!entries.length) return el("div", { class: "j-line" }, keyPart, `${open}${close}`);
    const det = el("details", { open: depth < 6 },
      el("summary", {}, keyPart, open, el("span", { class: "j-count dim", text: ` ${entries.length} ${isArr ? "item" : "key"}${entries.length === 1 ? "" : "s"} ` })),
      el("div", { class: "j-children" }, entries.map(([k, v]) => jsonNode(v, isArr ? null : k, depth + 1))),
      el("div", { class: "j-line" }, close));
    return det;
  }
  const cls = value === null ? "j-null" : typeof value === "string" ? "j-str" : typeof value === "number" ? "j-num" : "j-bool";
  return el("div", { class: "j-line" }, keyPart, el("span", { class: cls, text: JSON.stringify(value) }));
}

function hexView(bytes) {
  const lines = [];
  const max = Math.min(bytes.length, 64 * 1024);
  for (let off = 0; off < max; off += 16) {
    const chunk = bytes.slice(off, off + 16);
    const hex = Array.from(chunk, (x) => x.toString(16).padStart(2, "0")).join(" ");
    const ascii = Array.from(chunk, (x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : ".")).join("");
    lines.push(`${off.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${ascii}`);
  }
  if (bytes.length > max) lines.push(`… ${bytes.length - max} more bytes (download with the JSON button)`);
  return el("pre", { class: "hex mono", text: lines.join("\n") });
}

// ---------- actions ----------

function notice(text, cls, linkId) {
  const n = $("notice");
  n.replaceChildren(text, linkId ? " " : "", linkId ? eventLink(linkId, "open it") : "");
  n.className = `notice ${cls || ""}`;
  n.hidden = false;
}

async function replay(edited) {
  if (!current) return null;
  const r = await api(`/api/events/${current.id}/replay`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hookrelay-token": TOKEN },
    body: edited ? JSON.stringify(edited) : "",
  });
  return r;
}

async function doReplay() {
  if (!current) return;
  const r = await replay(null);
  await afterReplay(r);
}

async function afterReplay(r) {
  if (!r.ok) { notice(`Replay refused: ${(r.body && r.body.error) || r.status}`, "error"); return false; }
  const c = r.body;
  const how = c.error ? `failed — ${c.error}` : `${c.status} in ${duration(c.duration_ms)}`;
  // The new capture's page first: opening it clears any older notice.
  await go(`/events/${c.id}`);
  notice(`Replayed: ${how}.`, c.error ? "error" : "ok");
  return true;
}

function openEditor() {
  if (!current) return;
  const r = current.request;
  $("ed-method").value = r.method;
  $("ed-path").value = r.path;
  $("ed-query").value = r.query || "";
  $("ed-headers").value = r.headers.map(([n, v]) => `${n}: ${typeof v === "string" ? v : ""}`).join("\n");
  const b = r.body;
  const editable = b.kind !== "binary" && !b.truncated;
  $("ed-body").value = editable ? b.data || "" : "";
  $("ed-body").disabled = !editable;
  $("ed-body").placeholder = editable ? "" : "binary or large body: sent unchanged";
  if (editable && b.kind === "json") {
    try { $("ed-body").value = JSON.stringify(JSON.parse(b.data), null, 2); } catch (_) { /* keep as is */ }
  }
  $("ed-error").hidden = true;
  $("editor").hidden = false;
  $("ed-body").focus();
}

async function sendEdited() {
  const headers = [];
  const lines = $("ed-headers").value.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at <= 0) { editError(`headers line ${i + 1}: expected "name: value"`); return; }
    headers.push([line.slice(0, at).trim(), line.slice(at + 1).trim()]);
  }
  const edited = { method: $("ed-method").value, path: $("ed-path").value, query: $("ed-query").value || null, headers };
  if (!$("ed-body").disabled) edited.body = $("ed-body").value;
  const r = await replay(edited);
  if (!r.ok && r.status === 400) { editError(`${r.body.field}: ${r.body.error}`); return; }
  await afterReplay(r);
}

function editError(text) {
  $("ed-error").textContent = text;
  $("ed-error").hidden = false;
}

async function copyCurl() {
  if (!current) return;
  try {
    await navigator.clipboard.writeText(current.curl);
    notice("curl command copied.", "ok");
  } catch (_) {
    notice("Copy this curl command:", "");
    $("notice").append(el("pre", { class: "mono", text: current.curl }));
  }
}

// ---------- compare ----------

async function openCompare(a, b) {
  const [x, y] = await Promise.all([api(`/api/events/${a}`), api(`/api/events/${b}`)]);
  const box = $("diff");
  if (!x.ok || !y.ok) { box.replaceChildren(el("p", { class: "error", text: "one of the events does not exist" })); return; }
  const side = (c) => el("div", {}, eventLink(c.id, `${c.method} ${c.path}`), ` · ${clock(c.received_at_ms)} · ${statusText(c)}`);
  const hdr = (h) => h.map(([n, v]) => `${n}: ${typeof v === "string" ? v : "(binary)"}`);
  const bodyLines = (b) => {
    if (!b || b.truncated || typeof b.data !== "string") return [b ? `(${b.size} bytes, not shown)` : "(none)"];
    if (b.kind === "json") { try { return JSON.stringify(JSON.parse(b.data), null, 2).split("\n"); } catch (_) { /* text */ } }
    return b.data.split("\n");
  };
  const xr = x.body.response, yr = y.body.response;
  box.replaceChildren(
    el("div", { class: "compare-head" }, side(x.body), side(y.body)),
    el("h2", { text: "Request headers" }), diffView(hdr(x.body.request.headers), hdr(y.body.request.headers)),
    el("h2", { text: "Request body" }), diffView(bodyLines(x.body.request.body), bodyLines(y.body.request.body)),
    el("h2", { text: "Response headers" }), diffView(xr ? hdr(xr.headers) : [], yr ? hdr(yr.headers) : []),
    el("h2", { text: "Response body" }), diffView(bodyLines(xr && xr.body), bodyLines(yr && yr.body)),
  );
}

// A line diff (longest common subsequence), capped so a huge body cannot freeze the page.
function diffView(a, b) {
  const cap = 3000;
  a = a.slice(0, cap); b = b.slice(0, cap);
  const n = a.length, m = b.length;
  const dp = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push(el("div", { class: "d-same", text: `  ${a[i]}` })); i++; j++; }
    else if (j < m && (i === n || dp[i][j + 1] >= dp[i + 1][j])) { out.push(el("div", { class: "d-add", text: `+ ${b[j]}` })); j++; }
    else { out.push(el("div", { class: "d-del", text: `- ${a[i]}` })); i++; }
  }
  return el("pre", { class: "diff mono" }, out);
}

// ---------- routing and keys ----------

function route() {
  const p = window.location.pathname;
  let m = p.match(/^\/events\/([^/]+)$/);
  if (m) return { view: "event", id: decodeURIComponent(m[1]) };
  m = p.match(/^\/compare\/([^/]+)\/([^/]+)$/);
  if (m) return { view: "compare", a: m[1], b: m[2] };
  return { view: "list" };
}

function go(path) {
  if (window.location.pathname !== path) history.pushState(null, "", path);
  return show();
}

// Resolves once the view's data is shown.
async function show() {
  const r = route();
  $("list-view").hidden = r.view !== "list";
  $("event-view").hidden = r.view !== "event";
  $("compare-view").hidden = r.view !== "compare";
  if (r.view === "list") { current = null; renderList(); document.title = "hookrelay inspector"; }
  if (r.view === "event") { document.title = `event ${r.id.slice(0, 8)} · hookrelay`; await openEvent(r.id); }
  if (r.view === "compare") await openCompare(r.a, r.b);
}

function onKey(e) {
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName);
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !$("editor").hidden) { e.preventDefault(); sendEdited(); return; }
  if (e.key === "Escape") {
    if (typing) { e.target.blur(); return; }
    if (!$("editor").hidden) { $("editor").hidden = true; return; }
    if (route().view !== "list") go("/");
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const view = route().view;
  if (view === "list") {
    const id = list.order[list.selected];
    if (e.key === "/") { e.preventDefault(); $("q").focus(); }
    else if (e.key === "j" || e.key === "ArrowDown") { e.preventDefault(); moveSelection(1); }
    else if (e.key === "k" || e.key === "ArrowUp") { e.preventDefault(); moveSelection(-1); }
    else if (e.key === "Home" || e.key === "g") { e.preventDefault(); moveSelection(-list.order.length); }
    else if (e.key === "End" || e.key === "G") { e.preventDefault(); moveSelection(list.order.length); }
    else if (e.key === "Enter" && id) { e.preventDefault(); go(`/events/${id}`); }
    else if (e.key === "x" && id) { togglePick(id, !list.picked.has(id)); renderList(); }
    else if (e.key === "c" && list.picked.size === 2) compareSelected();
  } else if (view === "event") {
    if (e.key === "r") { e.preventDefault(); doReplay(); }
    else if (e.key === "e") { e.preventDefault(); openEditor(); }
  }
}

function start() {
  let timer = null;
  const reload = () => { clearTimeout(timer); timer = setTimeout(() => loadList(false), 150); };
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); loadList(false); });
  $("q").addEventListener("input", reload);
  $("type").addEventListener("input", reload);
  $("status").addEventListener("change", () => loadList(false));
  $("more").addEventListener("click", () => loadList(true));
  $("compare").addEventListener("click", compareSelected);
  $("export-har").addEventListener("click", () => download("har", [...list.picked]));
  $("export-json").addEventListener("click", () => download("json", [...list.picked]));
  $("home").addEventListener("click", (e) => { e.preventDefault(); go("/"); });
  $("back").addEventListener("click", (e) => { e.preventDefault(); go("/"); });
  $("replay").addEventListener("click", doReplay);
  $("edit").addEventListener("click", openEditor);
  $("ed-send").addEventListener("click", sendEdited);
  $("ed-cancel").addEventListener("click", () => { $("editor").hidden = true; });
  $("curl").addEventListener("click", copyCurl);
  $("dl-har").addEventListener("click", () => current && download("har", [current.id]));
  $("dl-json").addEventListener("click", () => current && download("json", [current.id]));
  document.addEventListener("keydown", onKey);
  window.addEventListener("popstate", show);
  connectLive();
  loadList(false).then(show);
}

start();
