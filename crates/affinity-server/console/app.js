// affinity console: the shell. Every call goes through the public HTTP API with the project's admin key, which is
// kept in sessionStorage only (gone when the tab closes). No build step: plain JavaScript served by the binary.
"use strict";

const session = {
  get project() { return sessionStorage.getItem("affinity.project"); },
  get key() { return sessionStorage.getItem("affinity.key"); },
  set(project, key) { sessionStorage.setItem("affinity.project", project); sessionStorage.setItem("affinity.key", key); },
  clear() { sessionStorage.removeItem("affinity.project"); sessionStorage.removeItem("affinity.key"); },
};

/** Creates an element: h("button", {onclick, class: "x"}, "text", child…). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let fieldIds = 0;
/** A labelled input: returns {wrap, input, error}. */
function field(labelText, input) {
  const id = input.id || `f${++fieldIds}`;
  input.id = id;
  const error = h("div", { class: "error", role: "alert" });
  const wrap = h("div", { class: "field" }, h("label", { for: id }, labelText), input, error);
  return { wrap, input, error };
}

/** Calls the project API: `path` is below /v1/projects/{project}. Returns {status, data}. A 401 signs out, unless
 * `signingIn` (the sign-in form reports it itself). */
async function api(method, path, body, raw, signingIn) {
  const headers = { "x-api-key": session.key };
  const init = { method, headers };
  if (body !== undefined) {
    if (raw) init.body = body;
    else { headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
  }
  const resp = await fetch(`/v1/projects/${encodeURIComponent(session.project)}${path}`, init);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (resp.status === 401 && !signingIn) { session.clear(); route(); }
  return { status: resp.status, data };
}

/** The message of an API error body. */
function problem(data) {
  return data && data.error ? data.error.message : `unexpected answer: ${JSON.stringify(data)}`;
}

/** Downloads a project API path (with the key) as a file. */
async function download(path, filename) {
  const resp = await fetch(`/v1/projects/${encodeURIComponent(session.project)}${path}`, { headers: { "x-api-key": session.key } });
  if (!resp.ok) {
    let data = null;
    try { data = await resp.json(); } catch { /* not JSON */ }
    alert(problem(data));
    return;
  }
  const url = URL.createObjectURL(await resp.blob());
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const pages = {};

function signIn() {
  const project = field("Project", h("input", { name: "project", autocomplete: "username", required: true }));
  const key = field("Admin key", h("input", { name: "key", type: "password", autocomplete: "current-password", required: true }));
  const out = h("p", { class: "error signin-error", role: "alert" });
  const form = h("form", {
    class: "card", onsubmit: async (e) => {
      e.preventDefault();
      session.set(project.input.value.trim(), key.input.value.trim());
      const { status, data } = await api("GET", "/interactions", undefined, false, true);
      if (status === 200) { location.hash = "#/interactions"; route(); }
      else { session.clear(); out.textContent = status === 401 ? "This key is not an admin key of this project." : problem(data); }
    },
  }, h("h1", {}, "Sign in"), h("p", { class: "muted" }, "With a project's admin key. It stays in this browser tab only."),
  h("div", { class: "row" }, project.wrap, key.wrap, h("button", { type: "submit" }, "Sign in")), out);
  return h("section", {}, form);
}

async function route() {
  const main = document.getElementById("main");
  const nav = document.getElementById("nav");
  const signedIn = session.project && session.key;
  nav.hidden = !signedIn;
  document.getElementById("who").replaceChildren(signedIn ? h("span", {}, `project ${session.project} · `,
    h("button", { class: "secondary", onclick: () => { session.clear(); route(); } }, "Sign out")) : "");
  if (!signedIn) { main.replaceChildren(signIn()); return; }
  const name = (location.hash.replace(/^#\//, "") || "interactions").split("?")[0];
  for (const a of nav.querySelectorAll("a")) a.setAttribute("aria-current", a.getAttribute("href") === `#/${name}` ? "page" : "false");
  const page = pages[name] || pages.interactions;
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try { main.replaceChildren(await page()); } catch (e) { main.replaceChildren(h("p", { class: "error" }, String(e))); }
  main.focus();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
