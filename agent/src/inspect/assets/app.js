// hookrelay inspector: compare, routing, keys and start-up. Plain JavaScript, no build step; see dom.js.
"use strict";

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
