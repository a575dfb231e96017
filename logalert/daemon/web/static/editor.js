/* A YAML editor without dependencies: a <textarea> (which keeps native editing, undo,
   selection and accessibility) over a highlighted copy of its text, with a line-number
   gutter where errors and warnings sit at their line. */
"use strict";

(function () {
  const SECRET = "<secret>";

  function esc(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function span(cls, text) {
    return text ? '<span class="' + cls + '">' + esc(text) + "</span>" : "";
  }

  /* Where a comment starts: a '#' at the start or after whitespace, outside quotes. */
  function commentAt(line) {
    let quote = null;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quote) {
        if (c === "\\" && quote === '"') { i++; continue; }
        if (c === quote) quote = null;
      } else if (c === '"' || c === "'") {
        quote = c;
      } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) {
        return i;
      }
    }
    return -1;
  }

  function scalar(text) {
    const t = text.trim();
    if (!t) return esc(text);
    const lead = text.slice(0, text.indexOf(t));
    const tail = text.slice(lead.length + t.length);
    let cls = null;
    if (t === SECRET) cls = "tok-secret";
    else if (/^(["']).*\1$/.test(t)) cls = "tok-str";
    else if (/^[-+]?(\d[\d_]*)(\.\d+)?([eE][-+]?\d+)?$/.test(t)) cls = "tok-num";
    else if (/^(true|false|yes|no|on|off|null|~)$/i.test(t)) cls = "tok-bool";
    else if (/^[|>][-+]?\d*$/.test(t)) cls = "tok-block";
    else if (/^[&*][^\s]+$/.test(t)) cls = "tok-anchor";
    if (cls) return esc(lead) + span(cls, t) + esc(tail);
    if (/^[\[{]/.test(t)) return esc(lead) + flow(t) + esc(tail);
    return esc(lead) + span("tok-str", t) + esc(tail);
  }

  /* Flow collections: punctuation, keys and values inside { } and [ ]. */
  function flow(text) {
    let out = "";
    const re = /("(?:[^"\\]|\\.)*"|'[^']*'|[{}\[\],]|:(?=\s)|[^{}\[\],:"']+|:)/g;
    let m;
    while ((m = re.exec(text))) {
      const tok = m[0];
      if (/^[{}\[\],:]$/.test(tok)) out += span("tok-punct", tok);
      else if (/^\s*[^\s"'][^:]*$/.test(tok) && text[re.lastIndex] === ":") out += span("tok-key", tok);
      else out += scalar(tok);
    }
    return out;
  }

  /* One line to HTML; ``state.block`` is the indentation of an open block scalar (| or >). */
  function highlightLine(line, state) {
    const indent = line.match(/^\s*/)[0].length;
    if (state.block !== null) {
      if (line.trim() === "" || indent > state.block) return span("tok-str", line);
      state.block = null;
    }
    if (/^(---|\.\.\.)\s*$/.test(line)) return span("tok-punct", line);
    const at = commentAt(line);
    const code = at >= 0 ? line.slice(0, at) : line;
    const comment = at >= 0 ? line.slice(at) : "";
    let out = "";
    let rest = code;
    const lead = rest.match(/^(\s*)((?:-\s+)*)/);
    out += esc(lead[1]) + span("tok-punct", lead[2]);
    rest = rest.slice(lead[0].length);
    const key = rest.match(/^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#"'{\[][^:#]*?|\?)(\s*:)(\s|$)/);
    if (key) {
      out += span("tok-key", key[1]) + span("tok-punct", key[2]);
      rest = rest.slice(key[1].length + key[2].length);
      if (/^\s*[|>][-+]?\d*\s*$/.test(rest)) state.block = indent + (lead[2] ? lead[2].length : 0);
    } else if (lead[2] && /^[|>][-+]?\d*\s*$/.test(rest)) {
      state.block = indent;
    }
    out += scalar(rest);
    return out + span("tok-com", comment);
  }

  function highlight(text) {
    const state = { block: null };
    return text.split("\n").map((line) => highlightLine(line, state));
  }

  class YamlEditor {
    constructor(host, options) {
      options = options || {};
      this.onChange = options.onChange || function () {};
      this.markers = new Map();
      host.classList.add("editor");
      host.innerHTML = '<div class="gutter" aria-hidden="true"><div class="gutter-inner"></div></div>' +
        '<div class="code"><pre class="hl" aria-hidden="true"><span class="lines"></span></pre>' +
        '<textarea spellcheck="false" wrap="off" autocapitalize="off" autocomplete="off" ' +
        'aria-label="Rule YAML"></textarea></div>';
      this.host = host;
      this.minHeight = options.minHeight || 300;
      this.maxHeight = options.maxHeight || 640;
      this.height = 0;
      this.gutter = host.querySelector(".gutter-inner");
      this.pre = host.querySelector("pre.hl");
      this.lines = host.querySelector(".lines");
      this.area = host.querySelector("textarea");
      this.area.value = options.value || "";
      this.setReadOnly(!!options.readOnly);
      this.area.addEventListener("input", () => { this.render(); this.onChange(this.area.value); });
      this.area.addEventListener("scroll", () => this.sync());
      this.area.addEventListener("keydown", (e) => this.keydown(e));
      this.gutter.addEventListener("click", (e) => {
        const line = e.target.closest(".gl");
        if (line) this.goto(Number(line.dataset.line));
      });
      this.render();
    }

    get value() { return this.area.value; }

    set value(text) {
      this.area.value = text;
      this.render();
    }

    setReadOnly(readOnly) {
      this.area.readOnly = readOnly;
    }

    focus() { this.area.focus(); }

    /* markers: [{line, severity: "error"|"warning", message}] — one per line, errors first. */
    setMarkers(list) {
      this.markers = new Map();
      (list || []).forEach((m) => {
        if (!m.line) return;
        const old = this.markers.get(m.line);
        if (!old || (old.severity !== "error" && m.severity === "error")) this.markers.set(m.line, m);
        else old.message += "\n" + m.message;
      });
      this.render();
    }

    render() {
      const html = highlight(this.area.value);
      const rows = [];
      const numbers = [];
      html.forEach((line, i) => {
        const n = i + 1;
        const m = this.markers.get(n);
        const cls = m ? (m.severity === "error" ? " err" : " warn") : "";
        rows.push('<span class="ln' + cls + '" data-line="' + n + '">' + (line || " ") + "</span>");
        numbers.push('<div class="gl' + cls + '" data-line="' + n + '"' +
          (m ? ' title="' + esc(m.message).replace(/"/g, "&quot;") + '"' : "") + ">" + n + "</div>");
      });
      this.lines.innerHTML = rows.join("");
      /* Tall enough for the rule (within bounds): no empty well under a short file. */
      const fit = Math.max(this.minHeight, Math.min(this.maxHeight, html.length * 20 + 60));
      if (fit !== this.height) { this.height = fit; this.host.style.height = fit + "px"; }
      this.gutter.innerHTML = numbers.join("");
      this.sync();
    }

    sync() {
      this.pre.scrollTop = this.area.scrollTop;
      this.pre.scrollLeft = this.area.scrollLeft;
      this.gutter.style.transform = "translateY(" + (-this.area.scrollTop) + "px)";
    }

    /* Select line n and scroll it into the middle of the view. */
    goto(n) {
      const lines = this.area.value.split("\n");
      n = Math.max(1, Math.min(n, lines.length));
      let start = 0;
      for (let i = 0; i < n - 1; i++) start += lines[i].length + 1;
      this.area.focus();
      this.area.setSelectionRange(start, start + lines[n - 1].length);
      const lineHeight = parseFloat(getComputedStyle(this.area).lineHeight) || 20;
      this.area.scrollTop = Math.max(0, (n - 1) * lineHeight - this.area.clientHeight / 2);
      this.sync();
    }

    keydown(e) {
      const area = this.area;
      if (area.readOnly) return;
      if (e.key === "Tab" && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        this.insert("  ");
      } else if (e.key === "Enter" && !e.ctrlKey && !e.metaKey && !e.shiftKey && !e.altKey) {
        /* Keep the indentation; one step more after "key:" or "- key:". */
        const before = area.value.slice(0, area.selectionStart);
        const line = before.slice(before.lastIndexOf("\n") + 1);
        let indent = line.match(/^\s*/)[0];
        const code = line.slice(0, commentAt(line) >= 0 ? commentAt(line) : line.length).trimEnd();
        if (/:$/.test(code)) indent += "  ";
        else if (/^\s*- /.test(line) && code.trim() === "-") indent = indent;
        e.preventDefault();
        this.insert("\n" + indent);
      }
    }

    insert(text) {
      const area = this.area;
      /* execCommand keeps the browser's undo history; fall back to direct editing. */
      if (!document.execCommand || !document.execCommand("insertText", false, text)) {
        const s = area.selectionStart;
        area.setRangeText(text, s, area.selectionEnd, "end");
        this.render();
        this.onChange(area.value);
      }
    }
  }

  window.YamlEditor = YamlEditor;
  window.YamlEditor.highlight = highlight;
})();
