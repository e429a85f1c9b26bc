// hookrelay inspector: one event's page, its bodies and its actions. Plain JavaScript, no build step; see dom.js.
"use strict";

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
