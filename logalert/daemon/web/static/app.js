/* logalert web console: every page is built here from the JSON API (README, "Web console").
   No framework, no third-party code; DOM built with textContent only (never HTML from data). */
"use strict";

(function () {
  const body = document.body;
  const PAGE = body.dataset.page;
  const PATH = body.dataset.path || "";
  const MODE = body.dataset.mode;
  const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const main = document.getElementById("main");
  const params = new URLSearchParams(location.search);

  /* --- small helpers ---------------------------------------------------------------- */
  function h(tag, attrs, ...children) {
    const parts = tag.split(".");
    const el = document.createElement(parts[0] || "div");
    if (parts.length > 1) el.className = parts.slice(1).join(" ");
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className += (el.className ? " " : "") + v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "text") el.textContent = v;
      else if (k === "value") el.value = v;
      else if (k === "checked") el.checked = !!v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  function svg(tag, attrs, ...children) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    children.forEach((c) => el.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return el;
  }

  /* Replace an element's children, skipping null/false (as h() does). */
  function fill(el, ...children) {
    el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
    return el;
  }

  const encodePath = (rel) => rel.split("/").map(encodeURIComponent).join("/");
  const ruleUrl = (rel) => "/rules/" + encodePath(rel);
  const apiRule = (rel) => "/api/rules/" + encodePath(rel);
  const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");
  const fmtNum = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());

  function ago(iso) {
    if (!iso) return "—";
    const s = (Date.now() - new Date(iso).getTime()) / 1000;
    const a = Math.abs(s);
    const text = a < 45 ? Math.round(a) + " s" : a < 3600 ? Math.round(a / 60) + " min" : a < 86400 * 2 ? Math.round(a / 3600) + " h" : Math.round(a / 86400) + " d";
    return s >= 0 ? text + " ago" : "in " + text;
  }
  const local = (iso) => (iso ? new Date(iso).toLocaleString() : "");
  const timeEl = (iso) => h("span.nowrap", { title: local(iso) }, ago(iso));

  async function api(method, url, data, headers) {
    const head = Object.assign({ Accept: "application/json" }, headers || {});
    if (method !== "GET") head["X-CSRF-Token"] = CSRF;
    let payload;
    if (typeof data === "string") { payload = data; head["Content-Type"] = "text/yaml; charset=utf-8"; }
    else if (data !== undefined) { payload = JSON.stringify(data); head["Content-Type"] = "application/json"; }
    const res = await fetch(url, { method, headers: head, body: payload, credentials: "same-origin" });
    if (res.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("signed out");
    }
    let json = null;
    try { json = await res.json(); } catch (e) { json = null; }
    return { status: res.status, ok: res.ok, data: json };
  }

  // Someone who asked the system for less motion gets jumps instead of smooth scrolls.
  function reducedMotion() {
    return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function toast(message, kind) {
    let box = document.querySelector(".toasts");
    if (!box) { box = h("div.toasts", { role: "status" }); document.body.append(box); }
    const t = h("div.toast", { class: kind || "" }, message);
    box.append(t);
    setTimeout(() => t.remove(), kind === "bad" ? 7000 : 3500);
  }

  /* A modal dialog; resolves true (confirmed) or false. */
  function modal({ title, content, confirm, danger, onConfirm }) {
    return new Promise((resolve) => {
      const dlg = h("dialog.modal");
      const ok = h("button.btn", { type: "button", class: danger ? "btn-danger-solid" : "btn-primary", "data-role": "confirm" }, confirm || "OK");
      const cancel = h("button.btn", { type: "button", "data-role": "cancel" }, "Cancel");
      dlg.append(h("div.mh", {}, title), h("div.mb", {}, content), h("div.mf", {}, cancel, ok));
      const done = (value) => { dlg.close(); dlg.remove(); resolve(value); };
      cancel.addEventListener("click", () => done(false));
      dlg.addEventListener("cancel", (e) => { e.preventDefault(); done(false); });
      ok.addEventListener("click", async () => {
        if (onConfirm) {
          ok.disabled = true;
          const keep = await onConfirm();
          ok.disabled = false;
          if (keep === false) return;
        }
        done(true);
      });
      document.body.append(dlg);
      dlg.showModal();
      ok.focus();
    });
  }

  function banner(kind, ...content) { return h("div.banner", { class: kind }, ...content); }

  function liveBadge(live) {
    if (!live) return null;
    const map = { live: ["ok", "Live"], pending: ["info pulse", "Reloading…"], stale: ["warn", "Last good version running"],
      disabled: ["", "Disabled"], invalid: ["bad", "Not running"], "not-loaded": ["", "Import base"], deleted: ["", "Deleted"] };
    const [cls, label] = map[live.state] || ["", null];
    if (!label) return null;
    return h("span.badge", { class: cls, title: live.message, "data-live": live.state }, h("span.dot"), label);
  }

  /* --- rules list ---------------------------------------------------------------------- */
  async function pageRules() {
    const r = await api("GET", "/api/rules");
    if (!r.ok) { fill(main, banner("bad", r.data ? r.data.error : "The console did not answer.")); return; }
    const data = r.data;
    const rules = data.rules.filter((x) => !x.base);
    const bases = data.rules.filter((x) => x.base);
    const search = h("input", { type: "text", placeholder: "Filter by name, type, index or file…", "aria-label": "Filter rules" });
    const tbody = h("tbody");
    const table = h("table.data", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Rule"), h("th", {}, "Type"), h("th", {}, "Index"), h("th", {}, "Enabled"),
        h("th", {}, "Last run"), h("th.num", { title: "Hits / matches / alerts of the last run" }, "Hits · Matches · Alerts"),
        h("th", {}, "State"), h("th", {}, "Silenced until"))),
      tbody);
    const refill = () => {
      const q = search.value.trim().toLowerCase();
      const shown = rules.filter((x) => !q || [x.name, x.type, x.index, x.path].some((v) => v && v.toLowerCase().includes(q)));
      fill(tbody, ...shown.map((x) => ruleRow(x, data.read_only)));
      if (!shown.length) tbody.append(h("tr", {}, h("td.empty", { colspan: 8 }, rules.length ? "No rule matches the filter." : "No rule files yet. Create the first one.")));
    };
    search.addEventListener("input", refill);
    refill();
    const enabled = rules.filter((x) => x.valid && x.enabled).length;
    const invalid = rules.filter((x) => !x.valid).length;
    fill(main, 
      h("div.page-head", {},
        h("div.titles", {}, h("h1", {}, "Rules"),
          h("div.sub", {}, plural(rules.length, "rule file") + " · " + enabled + " enabled" + (invalid ? " · " + invalid + " invalid" : "") + " · ", h("span.mono", {}, data.rules_folder))),
        h("div.actions", {}, h("a.btn.btn-primary", { href: "/new", "aria-disabled": data.read_only ? "true" : null }, "New rule"))),
      data.read_only ? banner("warn", h("span.grow", {}, h("b", {}, "Read-only rules folder. "), data.read_only, " Test works; saving is disabled.")) : null,
      data.state_error ? banner("bad", data.state_error) : null,
      h("div.card", {}, h("div.toolbar", {}, search, h("span.muted.small", {}, MODE === "daemon" ? "Saved files go live through hot reload." : "Console only: no scheduler in this process.")),
        h("div.table-wrap", {}, table)),
      bases.length ? h("div.card", { style: null, class: "section" }, h("div.card-head", {}, h("h2", {}, "Import bases"), h("span.muted.small", {}, "files starting with _ are pulled in with import:")),
        h("div.card-body", {}, bases.map((b) => h("div", {}, h("a.mono", { href: ruleUrl(b.path) }, b.path))))) : null);
  }

  function ruleRow(x, readOnly) {
    const status = x.status || {};
    const toggle = h("input", { type: "checkbox", checked: x.enabled, disabled: readOnly || !x.valid, "aria-label": "Enabled" });
    toggle.addEventListener("change", async () => {
      toggle.disabled = true;
      const r = await api("PATCH", apiRule(x.path), { is_enabled: toggle.checked });
      toggle.disabled = false;
      if (r.ok) { toast((toggle.checked ? "Enabled " : "Disabled ") + x.name, "ok"); x.enabled = toggle.checked; }
      else { toggle.checked = !toggle.checked; toast(problemText(r), "bad"); }
    });
    const state = [];
    if (!x.valid) state.push(h("span.badge.bad", {}, "Invalid"), h("span.err-text", {}, firstError(x.errors)));
    else {
      state.push(liveBadge(x.live));
      if (status.error) state.push(h("span.err-text", { title: status.error }, "Last run failed: " + status.error.slice(0, 160)));
      if (status.firing && status.firing.length) state.push(" ", h("span.badge.warn", {}, status.firing.length + " firing"));
    }
    return h("tr", { "data-path": x.path },
      h("td", {}, h("a.rule-name", { href: ruleUrl(x.path) }, x.name || x.path), h("span.rule-path", {}, x.path)),
      h("td", {}, x.type ? h("span.chip", {}, x.type) : "—"),
      h("td.mono.small", {}, x.index || "—"),
      h("td", {}, h("label.switch", {}, toggle)),
      h("td", {}, status.last_run ? timeEl(status.last_run) : h("span.muted", {}, "never")),
      h("td.num.counts", {}, status.last_run ? [h("b", {}, fmtNum(status.hits)), h("span", {}, "·"), h("b", {}, fmtNum(status.matches)), h("span", {}, "·"), h("b", {}, fmtNum(status.alerts))] : h("span.muted", {}, "—")),
      h("td", {}, state),
      h("td", {}, x.silenced_until ? timeEl(x.silenced_until) : h("span.muted", {}, "—")));
  }

  const firstError = (errors) => (errors && errors.length ? (errors[0].line ? "line " + errors[0].line + ": " : "") + errors[0].message : "");

  function problemText(r) {
    if (Array.isArray(r.data)) return "Not saved: " + plural(r.data.length, "problem") + " — " + firstError(r.data);
    return (r.data && r.data.error) || "Request failed (" + r.status + ")";
  }

  /* --- the rule page ---------------------------------------------------------------------- */
  const BLANK = (name) => [
    "# " + name + ": which logs, what counts as a problem, where the alert goes.",
    "name: " + name,
    "index: logstash-*",
    "type: any",
    "filter:",
    "- query:",
    "    query_string:",
    '      query: "level:ERROR"',
    "realert:",
    "  minutes: 5",
    "alert:",
    "- stdout",
    ""].join("\n");

  function titleFromFile(rel) {
    const base = rel.split("/").pop().replace(/\.ya?ml$/, "").replace(/[_-]+/g, " ").trim();
    return base ? base.charAt(0).toUpperCase() + base.slice(1) : "New rule";
  }

  async function pageRule() {
    const isNew = params.get("new") === "1";
    const from = params.get("from") || "";
    const r = await api("GET", apiRule(PATH));
    let data;
    if (r.ok) data = r.data;
    else if (r.status === 404 && isNew) {
      let text = BLANK(titleFromFile(PATH));
      if (from) {
        const src = await api("GET", apiRule(from));
        if (src.ok) text = src.data.yaml.replace(/^name:.*$/m, "name: Copy of " + (src.data.name || from).replace(/[:#]/g, " "));
      }
      const ro = (await api("GET", "/api/status")).data || {};
      data = { path: PATH, yaml: text, name: null, valid: null, errors: [], warnings: [], status: null, live: null,
        read_only: ro.read_only || null, etag: null, silences: [], isNew: true };
    } else {
      fill(main, banner("bad", (r.data && r.data.error) || "Cannot open " + PATH), h("a", { href: "/" }, "Back to the rules"));
      return;
    }
    new RulePage(data, from).mount();
  }

  class RulePage {
    constructor(data, from) {
      this.data = data;
      this.rel = data.path;
      this.isNew = !!data.isNew;
      this.from = from;
      this.saved = data.isNew ? null : data.yaml;
      this.etag = data.etag;
      this.readOnly = data.read_only;
      this.range = "24h";
      this.checkTimer = null;
      this.checkSeq = 0;
      this.engineProblems = [];
      this.lastCheck = { errors: data.errors || [], warnings: data.warnings || [] };
    }

    mount() {
      const d = this.data;
      this.titleEl = h("h1", {}, d.name || this.rel);
      this.badges = h("div.row", { style: null });
      this.dirtyEl = h("span.dirty.hidden", {}, "● Unsaved changes");
      this.checkEl = h("span.check-state");
      this.problemsEl = h("ul.problems.hidden", { "aria-label": "Problems" });
      this.saveBtn = h("button.btn.btn-primary", { type: "button", onclick: () => this.save(), disabled: !!this.readOnly,
        title: this.readOnly ? "Read-only: " + this.readOnly : "Save (Ctrl+S)" }, this.isNew ? "Create" : "Save");
      const editorHost = h("div");
      this.editor = new window.YamlEditor(editorHost, { value: d.yaml, onChange: () => this.changed() });
      this.statusCard = h("div.card");
      this.results = h("div.card.hidden", { id: "results" });
      const actions = h("div.actions", {},
        h("button.btn", { type: "button", onclick: () => this.check(true), title: "Check the YAML as logalert validate does" }, "Validate"),
        h("button.btn", { type: "button", onclick: () => this.download(), title: "The editor's text as a file" }, "Download YAML"),
        this.isNew ? null : h("button.btn", { type: "button", id: "toggle-enabled", disabled: !!this.readOnly || !d.valid, onclick: () => this.toggleEnabled() }, d.enabled === false ? "Enable" : "Disable"),
        this.isNew || !d.name ? null : h("button.btn", { type: "button", onclick: () => this.silence() }, "Silence…"),
        this.isNew ? null : h("button.btn.btn-danger", { type: "button", disabled: !!this.readOnly, onclick: () => this.remove() }, "Delete"),
        this.saveBtn);
      fill(main, 
        h("div.crumbs", {}, h("a", { href: "/" }, "Rules"), " / ", h("span.mono", {}, this.rel)),
        h("div.page-head", {}, h("div.titles", {}, this.titleEl, h("div.sub", {}, this.badges)), actions),
        this.readOnly ? banner("warn", h("span.grow", {}, h("b", {}, "Read-only. "), this.readOnly, " Test works; Save is disabled — download the YAML and commit it where the rules come from."),
          h("button.btn.btn-small", { type: "button", onclick: () => this.download() }, "Download YAML")) : null,
        d.not_loaded ? banner("info", d.not_loaded) : null,
        d.state_error ? banner("bad", d.state_error) : null,
        h("div.grid-rule", {},
          h("div.card", {},
            h("div.card-head", {}, h("h2.mono", {}, this.rel), this.dirtyEl, this.checkEl),
            editorHost, this.problemsEl,
            h("div.editor-foot", {}, h("span.grow", {}, "Secrets show as <secret>; saving keeps the stored value."), h("span", {}, "Ctrl+S save · Ctrl+Enter test"))),
          h("div.stack", {}, this.testCard(), this.statusCard)),
        this.results);
      this.renderBadges();
      this.renderStatus();
      this.showProblems();
      document.addEventListener("keydown", (e) => {
        if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); this.save(); }
        if ((e.ctrlKey || e.metaKey) && e.key === "Enter") { e.preventDefault(); this.test(); }
      });
      window.addEventListener("beforeunload", (e) => { if (this.dirty()) { e.preventDefault(); e.returnValue = ""; } });
      if (this.isNew) { this.changed(); this.check(true); }
      else if (d.live && d.live.state === "pending") this.pollLive();
    }

    dirty() { return this.saved === null || this.editor.value !== this.saved; }

    changed() {
      this.dirtyEl.classList.toggle("hidden", !this.dirty());
      clearTimeout(this.checkTimer);
      this.checkTimer = setTimeout(() => this.check(false), 600);
    }

    renderBadges() {
      const d = this.data;
      fill(this.badges, 
        d.type ? h("span.chip", {}, d.type) : null,
        d.index ? h("span.chip", {}, d.index) : null,
        this.isNew ? h("span.badge.info", {}, "New — not saved yet") : null,
        d.enabled === false ? h("span.badge", {}, "Disabled") : null,
        liveBadge(d.live),
        d.status && d.status.firing && d.status.firing.length ? h("span.badge.warn", {}, d.status.firing.length + " firing") : null);
    }

    renderStatus() {
      const d = this.data;
      const s = d.status;
      const rows = [];
      const add = (k, v) => rows.push(h("dt", {}, k), h("dd", {}, v));
      if (s) {
        add("Last run", s.last_run ? timeEl(s.last_run) : "never");
        add("Window end", s.window_end ? h("span", { title: local(s.window_end) }, ago(s.window_end)) : "—");
        add("Last run found", h("span.counts", {}, h("b", {}, fmtNum(s.hits)), " hits · ", h("b", {}, fmtNum(s.matches)), " matches · ", h("b", {}, fmtNum(s.alerts)), " alerts"));
        add("Duration", s.duration + " s");
        if (s.error) add("Last error", h("span", { class: "err-text" }, s.error));
        if (s.firing && s.firing.length) add("Firing", s.firing.map((f) => h("div", {}, h("span.chip", {}, f.key || "*"), " since ", timeEl(f.since))));
      } else add("Last run", this.isNew ? "not saved yet" : "no run recorded yet");
      (d.silences || []).forEach((x) => add("Silenced", h("span", {}, x.key && x.key !== "*" ? h("span.chip", {}, x.key) : "all keys", " until ", timeEl(x.until), x.reason && x.kind === "manual" ? " — " + x.reason : "")));
      const links = d.name ? h("div.row.small", { style: null }, h("a", { href: "/alerts?rule=" + encodeURIComponent(d.name) }, "Alert history"), h("span.muted", {}, "·"), h("a", { href: "/errors?rule=" + encodeURIComponent(d.name) }, "Error log")) : null;
      fill(this.statusCard, h("div.card-head", {}, h("h2", {}, "Status"), liveBadge(d.live)),
        h("div.card-body", {}, h("dl.kv", {}, rows), links ? h("div", { class: "section" }, links) : null));
    }

    testCard() {
      const seg = h("div.segmented", { role: "group", "aria-label": "Range" });
      const custom = h("div.custom.hidden", {},
        h("div.field", {}, h("label", { for: "t-start" }, "From"), h("input", { type: "datetime-local", id: "t-start" })),
        h("div.field", {}, h("label", { for: "t-end" }, "To"), h("input", { type: "datetime-local", id: "t-end" })));
      [["1h", "Last 1 h"], ["24h", "24 h"], ["7d", "7 d"], ["custom", "Custom"]].forEach(([key, label]) => {
        const b = h("button", { type: "button", "data-range": key, class: key === this.range ? "on" : "" }, label);
        b.addEventListener("click", () => {
          this.range = key;
          seg.querySelectorAll("button").forEach((x) => x.classList.toggle("on", x === b));
          custom.classList.toggle("hidden", key !== "custom");
          if (key === "custom" && !custom.querySelector("#t-start").value) {
            const pad = (t) => new Date(t - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
            custom.querySelector("#t-start").value = pad(Date.now() - 6 * 3600000);
            custom.querySelector("#t-end").value = pad(Date.now());
          }
        });
        seg.append(b);
      });
      this.custom = custom;
      this.sendBox = h("input", { type: "checkbox", id: "send-real", class: "danger" });
      this.sendBox.addEventListener("change", async () => {
        if (!this.sendBox.checked) return;
        const names = (this.data.notifiers || []).join(", ");
        const ok = await modal({ title: "Send real alerts?", danger: true, confirm: "Yes, send them",
          content: h("div", {}, h("p", {}, "The next Test sends every alert it finds through the rule's notifiers", names ? " (" + names + ")" : "", ", exactly as the daemon would."),
            h("p.muted.small", {}, "The daemon's state is not touched: the test is not recorded in the alert history, and the daemon may alert on the same logs again.")) });
        if (!ok) this.sendBox.checked = false;
      });
      this.testBtn = h("button.btn.btn-primary", { type: "button", id: "run-test", onclick: () => this.test() }, "Run test");
      return h("div.card.test-controls", {},
        h("div.card-head", {}, h("h2", {}, "Test"), h("span.muted.small", {}, "same code path as logalert test-rule")),
        h("div.card-body", {},
          h("div.row", {}, seg), custom,
          h("div.row", {}, h("label.switch", {}, this.sendBox, "Send real alerts")),
          h("p.send-note", {}, "Off: nothing is sent and nothing is written; the alerts are shown as they would be sent."),
          h("div.row", {}, this.testBtn, h("span.muted.small", { id: "test-state" }, ""))));
    }

    /* Problems: the editor's markers (this file's lines) and the list under it (all files). */
    showProblems() {
      const errs = (this.lastCheck.errors || []).concat(this.engineProblems);
      const warns = this.lastCheck.warnings || [];
      const mine = (p) => !p.file || p.file === this.rel;
      this.editor.setMarkers(errs.filter(mine).map((p) => ({ line: p.line, severity: "error", message: p.message }))
        .concat(warns.filter(mine).map((p) => ({ line: p.line, severity: "warning", message: p.message }))));
      const items = errs.map((p) => [p, "err"]).concat(warns.map((p) => [p, "warn"]));
      fill(this.problemsEl, ...items.map(([p, cls]) => {
        const where = p.line ? (mine(p) ? "line " + p.line : p.file + ":" + p.line) : (mine(p) ? "" : p.file || "");
        const li = h("li", { class: cls, "data-line": p.line || "" }, h("span.sev", {}, cls === "err" ? "Error" : "Warning"),
          h("span.where", {}, where), h("span", {}, p.option ? h("span.opt", {}, p.option + ": ") : null, p.message));
        if (p.line && mine(p)) li.addEventListener("click", () => this.editor.goto(p.line));
        return li;
      }));
      this.problemsEl.classList.toggle("hidden", !items.length);
      const e = errs.length, w = warns.length;
      this.checkEl.className = "check-state " + (e ? "bad" : w ? "warn" : "ok");
      this.checkEl.textContent = e ? plural(e, "error") + (w ? " · " + plural(w, "warning") : "") : w ? "Valid · " + plural(w, "warning") : "✓ Valid";
    }

    async check(now) {
      const seq = ++this.checkSeq;
      if (now) this.checkEl.textContent = "Checking…";
      const r = await api("POST", "/api/validate", { yaml: this.editor.value, path: this.rel, secrets_from: this.isNew && this.from ? this.from : undefined });
      if (seq !== this.checkSeq) return;  /* a newer check is on its way */
      if (!r.ok) { this.checkEl.textContent = (r.data && r.data.error) || "Check failed"; return; }
      this.engineProblems = [];
      this.lastCheck = { errors: r.data.errors, warnings: r.data.warnings };
      this.showProblems();
      if (r.data.name) this.titleEl.textContent = r.data.name;
    }

    async save() {
      if (this.readOnly) { toast("Read-only: " + this.readOnly, "bad"); return; }
      this.saveBtn.disabled = true;
      const headers = this.isNew ? { "If-None-Match": "*" } : (this.etag ? { "If-Match": '"' + this.etag + '"' } : {});
      const url = apiRule(this.rel) + (this.isNew && this.from ? "?secrets_from=" + encodeURIComponent(this.from) : "");
      let r = await api("PUT", url, this.editor.value, headers);
      if (r.status === 412 && !this.isNew) {
        const overwrite = await modal({ title: "The file changed on disk", confirm: "Overwrite it", danger: true,
          content: h("p", {}, "Someone saved " + this.rel + " after you opened it. Overwrite their version with yours? (Cancel, then reload the page to see theirs.)") });
        if (overwrite) r = await api("PUT", url, this.editor.value);
      }
      this.saveBtn.disabled = false;
      if (r.status === 422) {
        this.lastCheck = { errors: r.data, warnings: [] };
        this.engineProblems = [];
        this.showProblems();
        toast(problemText(r), "bad");
        return;
      }
      if (!r.ok) { toast(problemText(r), "bad"); return; }
      const text = this.editor.value;
      this.saved = text;
      this.etag = r.data.etag;
      this.lastCheck = { errors: [], warnings: r.data.warnings || [] };
      this.showProblems();
      this.dirtyEl.classList.add("hidden");
      toast((r.data.created ? "Created " : "Saved ") + this.rel, "ok");
      if (this.isNew) {
        this.isNew = false;
        history.replaceState(null, "", ruleUrl(this.rel));
        this.saveBtn.textContent = "Save";
      }
      this.data.live = r.data.live;
      this.renderBadges();
      this.pollLive();
    }

    /* After a save: ask until the daemon runs this version (hot reload), at most 40 s. */
    async pollLive() {
      const until = Date.now() + 40000;
      clearTimeout(this.liveTimer);
      const tick = async () => {
        const r = await api("GET", apiRule(this.rel));
        if (!r.ok) return;
        const fresh = r.data;
        Object.assign(this.data, { live: fresh.live, status: fresh.status, name: fresh.name, type: fresh.type,
          index: fresh.index, enabled: fresh.enabled, valid: fresh.valid, silences: fresh.silences });
        this.renderBadges();
        this.renderStatus();
        const t = document.getElementById("toggle-enabled");
        if (t) { t.textContent = fresh.enabled === false ? "Enable" : "Disable"; t.disabled = !!this.readOnly || !fresh.valid; }
        if (fresh.live && fresh.live.state === "pending" && Date.now() < until) this.liveTimer = setTimeout(tick, 1000);
        else if (fresh.live && fresh.live.state === "live") toast("Live: the daemon runs the saved version", "ok");
      };
      this.liveTimer = setTimeout(tick, 500);
    }

    async toggleEnabled() {
      const enable = this.data.enabled === false;
      if (this.dirty()) { toast("Save or undo your changes first", "bad"); return; }
      const r = await api("PATCH", apiRule(this.rel), { is_enabled: enable });
      if (!r.ok) { toast(problemText(r), "bad"); return; }
      const fresh = await api("GET", apiRule(this.rel));
      this.editor.value = fresh.data.yaml;
      this.saved = fresh.data.yaml;
      this.etag = fresh.data.etag;
      this.data.enabled = enable;
      toast(enable ? "Enabled" : "Disabled", "ok");
      this.pollLive();
    }

    download() {
      const blob = new Blob([this.editor.value], { type: "application/x-yaml" });
      const a = h("a", { href: URL.createObjectURL(blob), download: this.rel.split("/").pop() });
      document.body.append(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    }

    async remove() {
      await modal({ title: "Delete " + this.rel + "?", danger: true, confirm: "Delete",
        content: h("p", {}, "The file is removed from the rules folder" + (this.data.name ? " and the daemon stops running “" + this.data.name + "” at its next reload" : "") + ". This cannot be undone here."),
        onConfirm: async () => {
          const r = await api("DELETE", apiRule(this.rel));
          if (!r.ok) { toast(problemText(r), "bad"); return false; }
          this.saved = this.editor.value;
          location.href = "/";
          return true;
        } });
    }

    silence() { silenceDialog(this.data.name, () => pageReloadStatus(this)); }

    rangeBody() {
      if (this.range === "custom") {
        const start = this.custom.querySelector("#t-start").value, end = this.custom.querySelector("#t-end").value;
        return { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
      }
      return { hours: { "1h": 1, "24h": 24, "7d": 168 }[this.range] };
    }

    async test() {
      const stateEl = document.getElementById("test-state");
      this.testBtn.disabled = true;
      stateEl.textContent = "Running…";
      const send = this.sendBox.checked;
      const r = await api("POST", "/api/test", Object.assign({ yaml: this.editor.value, path: this.rel, send,
        secrets_from: this.isNew && this.from ? this.from : undefined }, this.rangeBody()));
      this.testBtn.disabled = false;
      stateEl.textContent = "";
      if (send) this.sendBox.checked = false;  /* one confirmed send at a time */
      this.results.classList.remove("hidden");
      if (r.status === 422) {
        const list = Array.isArray(r.data) ? r.data : (r.data && r.data.problems) || [];
        this.lastCheck = { errors: list, warnings: [] };
        this.showProblems();
        fill(this.results, h("div.card-head", {}, h("h2", {}, "Test results")),
          h("div.card-body", {}, h("div.results-empty", {}, "The rule is invalid: fix the marked lines, then test again.")));
        return;
      }
      if (!r.ok) { toast(problemText(r), "bad"); this.results.classList.add("hidden"); return; }
      this.engineProblems = (r.data.errors || []).filter((p) => p.line);
      this.lastCheck.warnings = r.data.warnings || [];
      this.showProblems();
      renderResults(this.results, r.data, this);
      this.results.scrollIntoView({ behavior: reducedMotion() ? "auto" : "smooth", block: "start" });
    }
  }

  async function pageReloadStatus(page) {
    const r = await api("GET", apiRule(page.rel));
    if (r.ok) { page.data.silences = r.data.silences; page.renderStatus(); }
  }

  /* --- Test results --------------------------------------------------------------------- */
  function renderResults(card, rep, page) {
    const stats = h("div.stats", {},
      stat(fmtNum(rep.documents), "documents match the filter"),
      stat(fmtNum(rep.hits), "hits fetched by the rule"),
      stat(fmtNum(rep.match_count), "matches"),
      stat(fmtNum(rep.alert_count), rep.sent ? "alerts sent" : "alerts it would send", rep.alert_count > 0));
    const errors = (rep.errors || []).length ? h("ul.errors-list", {}, rep.errors.map((p) => h("li", {},
      p.line ? h("a", { href: "#", onclick: (e) => { e.preventDefault(); page.editor.goto(p.line); } }, (p.file && p.file !== page.rel ? p.file + ":" : "line ") + p.line) : null,
      p.option ? h("span.opt", {}, p.option + ": ") : null, p.message))) : null;
    const windowText = local(rep.window.start) + " → " + local(rep.window.end);
    fill(card, 
      h("div.card-head", {}, h("h2", {}, "Test results"), h("span.muted.small", {}, windowText),
        h("span.badge", { class: rep.sent ? "bad" : "" }, rep.sent ? "Sent for real" : "Dry run: nothing sent")),
      h("div.card-body", {}, errors, stats,
        rep.histogram ? h("div.section", {}, h("h3", {}, "Documents over time"), chart(rep.histogram)) : null,
        h("div.section", {}, h("h3", {}, "Matched documents"), matchesView(rep, page)),
        h("div.section", {}, h("h3", {}, rep.sent ? "Alerts sent" : "Alerts as they would be sent"), alertsView(rep))));
  }

  function stat(value, label, hot) { return h("div.stat", { class: hot ? "hot" : "" }, h("div.v", {}, value), h("div.k", {}, label)); }

  function chart(hist) {
    const buckets = hist.buckets || [];
    const W = 1000, H = 150, left = 44, bottom = 22, top = 8;
    const max = Math.max(1, ...buckets.map((b) => b.count));
    const el = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, preserveAspectRatio: "none", role: "img", "aria-label": "Documents over time" });
    const plotW = W - left - 8, plotH = H - bottom - top;
    [0, 0.5, 1].forEach((f) => {
      const y = top + plotH * (1 - f);
      el.append(svg("line", { class: f === 0 ? "axis" : "grid", x1: left, x2: W - 8, y1: y, y2: y }));
      el.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, Math.round(max * f).toLocaleString()));
    });
    const bw = plotW / Math.max(1, buckets.length);
    buckets.forEach((b, i) => {
      const bh = (b.count / max) * plotH;
      const rect = svg("rect", { class: "bar", x: left + i * bw + 1, y: top + plotH - bh, width: Math.max(1, bw - 2), height: Math.max(0, bh) });
      rect.append(svg("title", {}, local(b.t) + ": " + b.count.toLocaleString()));
      el.append(rect);
    });
    const span = buckets.length ? new Date(buckets[buckets.length - 1].t) - new Date(buckets[0].t) : 0;
    const label = (t) => { const d = new Date(t); return span >= 43200000 ? d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " + d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) : d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }); };
    [0, Math.floor(buckets.length / 2), buckets.length - 1].filter((v, i, a) => buckets[v] && a.indexOf(v) === i).forEach((i, n) => {
      el.append(svg("text", { x: left + i * bw + (n === 0 ? 0 : n === 2 ? bw : bw / 2), y: H - 6, "text-anchor": n === 0 ? "start" : n === 2 ? "end" : "middle" }, label(buckets[i].t)));
    });
    return el;
  }

  function alertsView(rep) {
    if (!rep.alerts || !rep.alerts.length) return h("div.results-empty", {}, rep.errors && rep.errors.length ? "No result: see the error above." : "No alert in this range.");
    const delivered = rep.delivered || {};
    const cards = rep.alerts.map((a, i) => h("div.alert-card", { class: i ? "collapsed" : "" },
      h("div.ah", { title: "Show or hide the text", onclick: (e) => e.currentTarget.parentNode.classList.toggle("collapsed") },
        h("span.caret", {}), h("span.subj", {}, a.subject), a.notifiers.map((n) => {
        const sent = delivered[a.id];
        const cls = sent ? (sent[n] ? "ok" : "bad") : "";
        return h("span.badge", { class: cls, title: sent ? (sent[n] ? "sent" : "failed") : "would be sent to " + n }, n + (sent ? (sent[n] ? " ✓" : " ✗") : ""));
      })),
      h("pre", {}, a.body)));
    if (rep.alert_count > rep.alerts.length) cards.push(h("p.muted.small", {}, "Showing the first " + rep.alerts.length + " of " + fmtNum(rep.alert_count) + " alerts."));
    return h("div", {}, cards);
  }

  function flatten(obj, prefix, out) {
    for (const [k, v] of Object.entries(obj || {})) {
      const key = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
      else out[key] = Array.isArray(v) ? JSON.stringify(v) : v;
    }
    return out;
  }

  function matchesView(rep, page) {
    const matches = rep.matches || [];
    if (!matches.length) return h("div.results-empty", {}, "No matched document in this range.");
    const rows = matches.map((m) => ({ m, flat: flatten(m.fields, "", {}) }));
    const seen = new Map();
    rows.forEach((r) => Object.entries(r.flat).forEach(([k, v]) => { if (v !== null && String(v).length < 200) seen.set(k, (seen.get(k) || 0) + 1); }));
    /* The query_key first, then the fields logs usually carry, at most four; message last. */
    const prefer = ["level", "kubernetes.namespace_name", "kubernetes.pod_name", "host", "status"];
    const skip = new Set(["@timestamp", "message", "log", "stream"]);
    const keys = (page.data.query_key || []).filter((k) => seen.has(k));
    const cols = keys.concat(prefer.filter((k) => seen.has(k) && !keys.includes(k))).slice(0, 4);
    [...seen.entries()].sort((a, b) => b[1] - a[1]).forEach(([k]) => { if (cols.length < 4 && !cols.includes(k) && !skip.has(k)) cols.push(k); });
    const showMessage = seen.has("message");
    const head = h("tr", {}, h("th", {}, "Time"), cols.map((c) => h("th", {}, c)), showMessage ? h("th", {}, "message") : null);
    const tbody = h("tbody");
    rows.forEach(({ m, flat }) => {
      const tr = h("tr.expandable", { title: "Show the whole document" }, h("td.nowrap.mono.small", {}, local(m["@timestamp"])),
        cols.map((c) => h("td", {}, h("span.cell-clip", {}, flat[c] === undefined ? "" : String(flat[c])))),
        showMessage ? h("td", {}, h("span.cell-clip", {}, String(flat.message || ""))) : null);
      const detail = h("tr.detail.hidden", {}, h("td", { colspan: cols.length + 2 }, h("pre", {}, JSON.stringify(m.fields, null, 2)),
        h("div.muted.small", {}, (m.index || "") + (m.id ? " / " + m.id : ""))));
      tr.addEventListener("click", () => detail.classList.toggle("hidden"));
      tbody.append(tr, detail);
    });
    const more = rep.match_count > matches.length ? h("p.muted.small", {}, "Showing the first " + matches.length + " of " + fmtNum(rep.match_count) + " matches.") : null;
    return h("div", {}, h("div.table-wrap.card", { id: "matches-wrap" }, h("table.data", { id: "matches" }, h("thead", {}, head), tbody)), more);
  }

  /* --- new rule ----------------------------------------------------------------------------- */
  async function pageNew() {
    const r = await api("GET", "/api/rules");
    const rules = r.ok ? r.data.rules.filter((x) => !x.base && x.valid) : [];
    const name = h("input", { type: "text", id: "new-path", value: "new-rule.yaml", "aria-label": "File name" });
    const from = h("select", { id: "new-from" }, h("option", { value: "" }, "A blank rule"),
      rules.map((x) => h("option", { value: x.path, selected: params.get("from") === x.path }, "A copy of " + x.name + " (" + x.path + ")")));
    const err = h("p.login-error.hidden", { role: "alert" });
    const create = async (e) => {
      e.preventDefault();
      const path = name.value.trim();
      const exists = await api("GET", apiRule(path));
      if (exists.ok) { err.textContent = path + " exists already: pick another name."; err.classList.remove("hidden"); return; }
      if (exists.status === 400) { err.textContent = exists.data.error; err.classList.remove("hidden"); return; }
      location.href = ruleUrl(path) + "?new=1" + (from.value ? "&from=" + encodeURIComponent(from.value) : "");
    };
    fill(main, 
      h("div.crumbs", {}, h("a", { href: "/" }, "Rules"), " / new"),
      h("div.page-head", {}, h("div.titles", {}, h("h1", {}, "New rule"), h("div.sub", {}, "A YAML file in the rules folder; sub-folders are allowed (team/errors.yaml)."))),
      r.ok && r.data.read_only ? banner("warn", "Read-only rules folder: ", r.data.read_only, " You can still write and test a rule, then download it.") : null,
      h("form.card", { onsubmit: create, style: null },
        h("div.card-body", {}, err,
          h("div.field", {}, h("label", { for: "new-path" }, "File name"), name),
          h("div.field", {}, h("label", { for: "new-from" }, "Start from"), from),
          h("button.btn.btn-primary", { type: "submit" }, "Open in the editor"))));
  }

  /* --- silences ----------------------------------------------------------------------------- */
  function durationPicker() {
    let value = "1h";
    const seg = h("div.segmented", { role: "group", "aria-label": "Duration" });
    const num = h("input", { type: "number", min: "1", value: "2", "aria-label": "Custom amount", style: null });
    const unit = h("select", { "aria-label": "Custom unit" }, [["m", "minutes"], ["h", "hours"], ["d", "days"]].map(([v, l]) => h("option", { value: v, selected: v === "h" }, l)));
    const customRow = h("div.row.hidden", {}, num, unit);
    [["5m", "5 min"], ["1h", "1 hour"], ["1d", "1 day"], ["custom", "Custom"]].forEach(([v, l]) => {
      const b = h("button", { type: "button", class: v === value ? "on" : "", "data-duration": v }, l);
      b.addEventListener("click", () => { value = v; seg.querySelectorAll("button").forEach((x) => x.classList.toggle("on", x === b)); customRow.classList.toggle("hidden", v !== "custom"); });
      seg.append(b);
    });
    return { el: h("div", {}, h("div.row", {}, seg), customRow), get: () => (value === "custom" ? num.value + unit.value : value) };
  }

  function silenceDialog(rule, after) {
    const picker = durationPicker();
    const key = h("input", { type: "text", placeholder: "all values", "aria-label": "query_key value" });
    const reason = h("input", { type: "text", placeholder: "e.g. deploying checkout", "aria-label": "Reason" });
    return modal({ title: "Silence “" + rule + "”", confirm: "Silence",
      content: h("div", {}, h("div.field", {}, h("label", {}, "For"), picker.el),
        h("div.field", {}, h("label", {}, "Only this query_key value (optional)"), key),
        h("div.field", {}, h("label", {}, "Reason"), reason)),
      onConfirm: async () => {
        const r = await api("POST", "/api/silences", { rule, key: key.value.trim() || null, duration: picker.get(), reason: reason.value });
        if (!r.ok) { toast(problemText(r), "bad"); return false; }
        toast("Silenced until " + local(r.data.until), "ok");
        if (after) after();
        return true;
      } });
  }

  async function pageSilences() {
    const [s, rl] = await Promise.all([api("GET", "/api/silences"), api("GET", "/api/rules")]);
    const names = rl.ok ? rl.data.rules.filter((x) => x.valid).map((x) => x.name) : [];
    const list = s.ok ? s.data.silences : [];
    const tbody = h("tbody", {}, list.length ? list.map((x) => h("tr", {},
      h("td", {}, h("span.rule-name", {}, x.rule)), h("td", {}, x.key && x.key !== "*" ? h("span.chip", {}, x.key) : h("span.muted", {}, "all values")),
      h("td", {}, timeEl(x.until), h("span.rule-path", {}, local(x.until))),
      h("td", {}, x.kind === "realert" ? h("span.badge", {}, "realert") : h("span.badge.info", {}, "manual")),
      h("td", {}, x.kind === "manual" && x.reason !== "manual" ? x.reason : h("span.muted", {}, "—")),
      h("td.num", {}, h("button.btn.btn-small", { type: "button", onclick: async () => {
        const r = await api("DELETE", "/api/silences?rule=" + encodeURIComponent(x.rule) + "&key=" + encodeURIComponent(x.key));
        if (r.ok) { toast("Silence lifted", "ok"); pageSilences(); } else toast(problemText(r), "bad");
      } }, "Lift")))) : h("tr", {}, h("td.empty", { colspan: 6 }, "No active silence.")));
    const ruleSel = h("select", { "aria-label": "Rule" }, names.map((n) => h("option", { value: n }, n)));
    fill(main, 
      h("div.page-head", {}, h("div.titles", {}, h("h1", {}, "Silences"), h("div.sub", {}, "No alert from a rule (or one of its query_key values) until the silence ends. Realert silences are the rules' own.")),
        h("div.actions", {}, ruleSel, h("button.btn.btn-primary", { type: "button", disabled: !names.length, onclick: () => silenceDialog(ruleSel.value, pageSilences) }, "New silence…"))),
      s.ok ? null : banner("bad", (s.data && s.data.error) || "Silences unavailable"),
      h("div.card", {}, h("div.table-wrap", {}, h("table.data", {}, h("thead", {}, h("tr", {}, h("th", {}, "Rule"), h("th", {}, "Key"), h("th", {}, "Until"), h("th", {}, "Kind"), h("th", {}, "Reason"), h("th", {}))), tbody))));
  }

  /* --- alert history, errors ----------------------------------------------------------------- */
  async function pageAlerts() {
    const rule = params.get("rule") || "";
    const status = params.get("status") || "";
    const r = await api("GET", "/api/alerts?rule=" + encodeURIComponent(rule) + "&status=" + encodeURIComponent(status));
    const filter = h("form.toolbar", { method: "get", action: "/alerts" },
      h("input", { type: "text", name: "rule", value: rule, placeholder: "Rule name", "aria-label": "Rule" }),
      h("select", { name: "status", "aria-label": "Status" }, ["", "pending", "sent", "failed"].map((v) => h("option", { value: v, selected: v === status }, v || "any status"))),
      h("button.btn", { type: "submit" }, "Filter"));
    const list = r.ok ? r.data.alerts : [];
    const tbody = h("tbody");
    list.forEach((a) => {
      const cls = { sent: "ok", pending: "warn", failed: "bad" }[a.status];
      const tr = h("tr.expandable", {}, h("td", {}, timeEl(a.created)), h("td", {}, h("span.rule-name", {}, a.rule)), h("td", {}, h("span.chip", {}, a.notifier)),
        h("td", {}, h("span.badge", { class: cls }, a.status), a.alert_status === "resolved" ? [" ", h("span.badge.ok", {}, "resolved")] : null),
        h("td", {}, h("span.cell-clip", {}, a.subject)), h("td.num", {}, a.attempts));
      const detail = h("tr.detail.hidden", {}, h("td", { colspan: 6 }, a.last_error ? h("p.err-text", {}, "Last error: " + a.last_error) : null,
        h("pre", {}, a.body), a.sent_at ? h("div.muted.small", {}, "sent " + local(a.sent_at)) : null));
      tr.addEventListener("click", () => detail.classList.toggle("hidden"));
      tbody.append(tr, detail);
    });
    if (!list.length) tbody.append(h("tr", {}, h("td.empty", { colspan: 6 }, r.ok ? "No alert recorded." : (r.data && r.data.error) || "Unavailable")));
    fill(main, 
      h("div.page-head", {}, h("div.titles", {}, h("h1", {}, "Alert history"), h("div.sub", {}, "The outbox: one record per alert and notifier, newest first."))),
      h("div.card", {}, filter, h("div.table-wrap", {}, h("table.data", {}, h("thead", {}, h("tr", {}, h("th", {}, "Created"), h("th", {}, "Rule"), h("th", {}, "Notifier"), h("th", {}, "Status"), h("th", {}, "Subject"), h("th.num", {}, "Attempts"))), tbody))));
  }

  async function pageErrors() {
    const rule = params.get("rule") || "";
    const r = await api("GET", "/api/errors?rule=" + encodeURIComponent(rule));
    const list = r.ok ? r.data.errors : [];
    const tbody = h("tbody", {}, list.length ? list.map((e) => h("tr", {}, h("td", {}, timeEl(e.created)), h("td", {}, h("span.rule-name", {}, e.rule)),
      h("td", {}, h("span.mono.small", {}, e.message)))) : h("tr", {}, h("td.empty", { colspan: 3 }, r.ok ? "No run error recorded." : (r.data && r.data.error) || "Unavailable")));
    fill(main, 
      h("div.page-head", {}, h("div.titles", {}, h("h1", {}, "Error log"), h("div.sub", {}, "Runs that failed (engine unreachable, query refused…), newest first" + (rule ? " — rule " + rule : "") + "."))),
      h("div.card", {}, h("div.table-wrap", {}, h("table.data", {}, h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Rule"), h("th", {}, "Error"))), tbody))));
  }

  const PAGES = { rules: pageRules, rule: pageRule, new: pageNew, silences: pageSilences, alerts: pageAlerts, errors: pageErrors };
  (PAGES[PAGE] || pageRules)().catch((e) => {
    if (String(e && e.message) !== "signed out") fill(main, banner("bad", "The page failed: " + e));
  });
})();
