// hookrelay inspector: the event list and its live stream. Plain JavaScript, no build step; see dom.js.
"use strict";

// ---------- the list ----------

const list = { rows: new Map(), order: [], cursor: null, selected: 0, picked: new Set(), types: new Set(), sources: new Set() };

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
  // Events of several sources: every row names its source (see rowNode).
  if (row.source) list.sources.add(row.source);
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
    el("td", { class: "path" }, ...(list.sources.size > 1 ? [el("span", { class: "source", text: row.source })] : []), el("a", { href: `/events/${row.id}`, text: row.path, onclick: (e) => { e.preventDefault(); go(`/events/${row.id}`); } })),
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
  // Under load the stream carries only the newest rows and says `resync` for the rest: reload,
  // at most once a second.
  let resyncing = null;
  source.addEventListener("resync", () => {
    if (!resyncing) resyncing = setTimeout(() => { resyncing = null; loadList(false); }, 1000);
  });
  source.onerror = () => { live.textContent = "○ reconnecting"; live.className = "live off"; };
}
