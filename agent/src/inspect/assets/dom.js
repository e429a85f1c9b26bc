// hookrelay inspector: DOM and formatting helpers. Plain JavaScript, no framework, no build
// step; the files load in order (dom, list, event, app) and share one global scope.
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
