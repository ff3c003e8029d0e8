// Helpers evaluated in the page by gleaner. Each call is one expression:
// `(AGENT)(name, args)`, so nothing is left on `window` for the site's scripts to see,
// and a navigation cannot leave a stale copy behind.
(async function (name, args) {
  "use strict";

  function visible(el) {
    if (!el || !el.isConnected) return false;
    const style = window.getComputedStyle(el);
    if (style.visibility === "hidden" || style.visibility === "collapse" || style.display === "none") return false;
    const rect = el.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0;
  }

  function describe(el) {
    if (!el) return "nothing";
    let d = el.tagName.toLowerCase();
    if (el.id) d += "#" + el.id;
    else if (el.classList && el.classList.length) d += "." + Array.from(el.classList).slice(0, 2).join(".");
    return d;
  }

  // ---- Selectors ----
  // A selector comes from Rust as `{alternatives: [{source, chain: [part…]}…]}`, each part
  // `{kind: "css", css}`, `{kind: "text", text, exact}` or `{kind: "role", role, name,
  // exact, level}`. Each part is searched inside the matches of the one before (the
  // document for the first), open shadow roots included, as Playwright does.

  // The open shadow roots under `scope` (a document, a shadow root or an element, whose own
  // root counts), recursively. Closed ones are out of reach of the page's JavaScript.
  const rootsCache = new Map();
  function shadowRootsUnder(scope) {
    if (rootsCache.has(scope)) return rootsCache.get(scope);
    const out = [];
    const walk = (tree) => {
      for (const el of tree.querySelectorAll("*")) {
        if (el.shadowRoot) {
          out.push(el.shadowRoot);
          walk(el.shadowRoot);
        }
      }
    };
    if (scope.shadowRoot) {
      out.push(scope.shadowRoot);
      walk(scope.shadowRoot);
    }
    walk(scope);
    rootsCache.set(scope, out);
    return out;
  }

  // Every tree to search under `scope`: itself and the open shadow roots below it.
  function treesUnder(scope) {
    return [scope].concat(shadowRootsUnder(scope));
  }

  function cssAll(scope, css) {
    const out = [];
    for (const tree of treesUnder(scope)) for (const el of tree.querySelectorAll(css)) out.push(el);
    return out;
  }

  function allElements(scope) {
    return cssAll(scope, "*");
  }

  // The parent across shadow boundaries: a shadow root's host.
  function composedParent(node) {
    if (node.parentElement) return node.parentElement;
    const p = node.parentNode;
    return p && p.host ? p.host : null;
  }

  function composedContains(outer, inner) {
    for (let n = inner; n; n = composedParent(n)) if (n === outer) return true;
    return false;
  }

  const NO_TEXT = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "TITLE", "META", "LINK"]);

  function norm(s) {
    return (s || "").replace(/\s+/g, " ").trim();
  }

  function ownText(el) {
    if (el.localName === "input" && ["button", "submit", "reset"].includes((el.type || "").toLowerCase())) return norm(el.value);
    return norm(el.textContent);
  }

  function textMatches(got, part) {
    if (part.exact) return got === part.text;
    return got.toLowerCase().includes(part.text.toLowerCase());
  }

  // The smallest elements whose text matches: an element is left out when one of its
  // descendants matches too (so `body` never wins over the button).
  function textAll(scope, part) {
    const found = allElements(scope).filter((el) => !NO_TEXT.has(el.tagName) && textMatches(ownText(el), part));
    const enclosing = new Set();
    for (const el of found) for (let p = composedParent(el); p; p = composedParent(p)) enclosing.add(p);
    return found.filter((el) => !enclosing.has(el));
  }

  function implicitRole(el) {
    const tag = el.localName;
    const type = (el.getAttribute("type") || "").toLowerCase();
    switch (tag) {
      case "a":
      case "area":
        return el.hasAttribute("href") ? "link" : null;
      case "button":
        return "button";
      case "input":
        if (["button", "submit", "reset", "image"].includes(type)) return "button";
        if (type === "checkbox") return "checkbox";
        if (type === "radio") return "radio";
        if (type === "range") return "slider";
        if (type === "number") return "spinbutton";
        if (type === "hidden") return null;
        if (type === "search") return el.hasAttribute("list") ? "combobox" : "searchbox";
        if (["", "text", "email", "tel", "url", "password"].includes(type)) return el.hasAttribute("list") ? "combobox" : "textbox";
        return null;
      case "textarea":
        return "textbox";
      case "select":
        return el.multiple || el.size > 1 ? "listbox" : "combobox";
      case "option":
        return "option";
      case "h1": case "h2": case "h3": case "h4": case "h5": case "h6":
        return "heading";
      case "img":
        return el.getAttribute("alt") === "" ? "presentation" : "img";
      case "ul": case "ol": case "menu":
        return "list";
      case "li":
        return "listitem";
      case "nav":
        return "navigation";
      case "main":
        return "main";
      case "header":
        return "banner";
      case "footer":
        return "contentinfo";
      case "aside":
        return "complementary";
      case "form":
        return "form";
      case "dialog":
        return "dialog";
      case "table":
        return "table";
      case "thead": case "tbody": case "tfoot":
        return "rowgroup";
      case "tr":
        return "row";
      case "td":
        return "cell";
      case "th":
        return "columnheader";
      case "section":
        return "region";
      case "article":
        return "article";
      case "fieldset": case "details":
        return "group";
      case "hr":
        return "separator";
      case "progress":
        return "progressbar";
      case "meter":
        return "meter";
      case "p":
        return "paragraph";
      case "output":
        return "status";
      case "figure":
        return "figure";
      case "search":
        return "search";
      default:
        return null;
    }
  }

  function roleOf(el) {
    const explicit = (el.getAttribute("role") || "").trim().split(/\s+/)[0];
    return explicit ? explicit.toLowerCase() : implicitRole(el);
  }

  const NAME_FROM_CONTENT = new Set(["button", "link", "heading", "checkbox", "radio", "option", "cell", "gridcell", "columnheader", "rowheader", "row", "tab", "menuitem", "menuitemcheckbox", "menuitemradio", "treeitem", "switch", "tooltip"]);

  // The accessible name, in the order of the HTML-AAM rules that matter in practice:
  // aria-labelledby, aria-label, labels of form controls, alt, the text of roles named from
  // their content, title and placeholder last.
  function accessibleName(el, role) {
    const by = el.getAttribute("aria-labelledby");
    if (by) {
      const root = el.getRootNode();
      const text = by.split(/\s+/).map((id) => {
        const ref = root.getElementById ? root.getElementById(id) : document.getElementById(id);
        return ref ? ref.textContent : "";
      }).join(" ");
      if (norm(text)) return norm(text);
    }
    const label = norm(el.getAttribute("aria-label"));
    if (label) return label;
    const tag = el.localName;
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (tag === "input" && ["button", "submit", "reset"].includes(type)) {
      return norm(el.value) || (type === "submit" ? "Submit" : type === "reset" ? "Reset" : "");
    }
    if (tag === "input" && type === "image") return norm(el.getAttribute("alt")) || norm(el.value) || "Submit";
    if (["input", "textarea", "select"].includes(tag) && el.labels && el.labels.length) {
      const text = norm(Array.from(el.labels).map((l) => l.textContent).join(" "));
      if (text) return text;
    }
    if (tag === "img" || tag === "area") {
      const alt = norm(el.getAttribute("alt"));
      if (alt) return alt;
    }
    if (NAME_FROM_CONTENT.has(role)) {
      const text = norm(el.textContent);
      if (text) return text;
    }
    return norm(el.getAttribute("title")) || norm(el.getAttribute("placeholder"));
  }

  function headingLevel(el) {
    const aria = parseInt(el.getAttribute("aria-level") || "", 10);
    if (aria > 0) return aria;
    const m = /^h([1-6])$/.exec(el.localName);
    return m ? parseInt(m[1], 10) : 0;
  }

  function roleAll(scope, part) {
    return allElements(scope).filter((el) => {
      const role = roleOf(el);
      if (role !== part.role) return false;
      if (part.level && headingLevel(el) !== part.level) return false;
      if (part.name === null || part.name === undefined) return true;
      const name = accessibleName(el, role);
      return part.exact ? name === part.name : name.toLowerCase().includes(part.name.toLowerCase());
    });
  }

  function partAll(scope, part) {
    if (part.kind === "css") return cssAll(scope, part.css);
    if (part.kind === "text") return textAll(scope, part);
    if (part.kind === "role") return roleAll(scope, part);
    throw new Error("unknown selector part " + part.kind);
  }

  // The elements a chain matches under `root` (a document), each once, in order.
  function chainAll(chain, root) {
    let scopes = [root || document];
    for (const part of chain) {
      const next = new Set();
      for (const scope of scopes) for (const el of partAll(scope, part)) next.add(el);
      scopes = Array.from(next);
      if (!scopes.length) break;
    }
    return scopes;
  }

  // Resolves a selector: the first alternative with a visible element wins; failing that,
  // the first with any element. `index` is -1 when nothing matches; `invalid` when the
  // browser rejects an alternative's CSS.
  function query(selector) {
    // A bare string is plain CSS (gleaner's own calls, tests).
    if (typeof selector === "string") selector = { alternatives: [{ source: selector, chain: [{ kind: "css", css: selector }] }] };
    const found = [];
    const alternatives = selector.alternatives;
    for (let i = 0; i < alternatives.length; i++) {
      let elements;
      try {
        elements = chainAll(alternatives[i].chain);
      } catch (e) {
        return { index: i, elements: [], invalid: true };
      }
      if (elements.some(visible)) return { index: i, elements, invalid: false };
      found.push(elements);
    }
    const index = found.findIndex((els) => els.length > 0);
    return { index, elements: index >= 0 ? found[index] : [], invalid: false };
  }

  // The deepest element at a point, through open shadow roots.
  function deepElementFromPoint(x, y) {
    let hit = document.elementFromPoint(x, y);
    while (hit && hit.shadowRoot) {
      const inner = hit.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === hit) break;
      hit = inner;
    }
    return hit;
  }

  function deepActiveElement() {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el;
  }

  // A selector-like description of a frame element, as an author would write it.
  function describeFrame(f) {
    const tag = f.localName;
    if (f.id) return tag + "#" + f.id;
    if (f.getAttribute("name")) return tag + '[name="' + f.getAttribute("name") + '"]';
    try {
      const host = new URL(f.src, location.href).host;
      if (host) return tag + '[src*="' + host + '"]';
    } catch (e) {}
    return tag;
  }

  // Where a selector that matches nothing would match: in a same-origin frame, or with
  // `>>` across a shadow boundary that a CSS combinator cannot cross. A sentence, or null.
  function explainMissing({ selector }) {
    for (const alt of selector.alternatives) {
      for (const f of cssAll(document, "iframe, frame")) {
        let doc = null;
        try {
          doc = f.contentDocument;
        } catch (e) {}
        if (!doc || !doc.documentElement) continue;
        let n = 0;
        try {
          n = chainAll(alt.chain, doc).length;
        } catch (e) {}
        if (n > 0) {
          const frame = describeFrame(f);
          const what = selector.alternatives.length > 1 ? "'" + alt.source + "'" : "it";
          return what + " matches " + n + " element" + (n > 1 ? "s" : "") + " inside the " + f.localName + " '" + frame + "': add frame: '" + frame + "' to the step";
        }
      }
      if (alt.chain.length === 1 && alt.chain[0].kind === "css") {
        const css = alt.chain[0].css;
        for (const [left, right] of combinatorSplits(css)) {
          let n = 0;
          try {
            n = chainAll([{ kind: "css", css: left }, { kind: "css", css: right }]).length;
          } catch (e) {}
          if (n > 0) {
            return "'" + left + "' holds it in a shadow root, which a CSS combinator does not cross: write '" + left + " >> " + right + "'";
          }
        }
      }
    }
    return null;
  }

  // The ways to cut a CSS selector at a descendant or child combinator: [left, right].
  function combinatorSplits(css) {
    if (css.includes(",")) return [];
    const cuts = [];
    let depth = 0;
    let quote = null;
    for (let i = 0; i < css.length; i++) {
      const c = css[i];
      if (quote) {
        if (c === "\\") i++;
        else if (c === quote) quote = null;
        continue;
      }
      if (c === '"' || c === "'") quote = c;
      else if (c === "[" || c === "(") depth++;
      else if (c === "]" || c === ")") depth--;
      else if (depth === 0 && (c === " " || c === ">")) {
        let j = i;
        while (j < css.length && (css[j] === " " || css[j] === ">")) j++;
        const left = css.slice(0, i).trim();
        const right = css.slice(j).trim();
        if (left && right && !/^[+~]/.test(right)) cuts.push([left, right]);
        i = j - 1;
      }
    }
    return cuts;
  }

  // The state of the page for a list of selectors: what exists, what is visible, what can
  // be clicked. `invalid` marks a selector the browser itself rejects.
  function snapshot(selectors, mark) {
    rootsCache.clear();
    const sels = selectors.map((sel) => {
      const q = query(sel);
      if (q.invalid) return { count: 0, visible: false, enabled: false, invalid: true, matched: null };
      const shown = q.elements.filter(visible);
      return {
        count: q.elements.length,
        visible: shown.length > 0,
        enabled: shown.some((el) => !el.disabled && el.getAttribute("aria-disabled") !== "true"),
        invalid: false,
        matched: q.index >= 0 ? q.index : null,
      };
    });
    return {
      url: location.href,
      ready: document.readyState,
      marked: mark ? window.__gleanerMark === mark : false,
      selectors: sels,
    };
  }

  function same(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  // Resolves with a snapshot as soon as it differs from `previous`, or after `waitMs`
  // with the unchanged one. DOM mutations wake it at once; a slow timer catches what no
  // mutation announces (a stylesheet or a transition changing visibility).
  function probe({ selectors, previous, waitMs, mark }) {
    const first = snapshot(selectors, mark);
    if (!previous || !same(first, previous) || waitMs <= 0) return Promise.resolve(first);
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        const now = snapshot(selectors, mark);
        if (!same(now, previous) || Date.now() >= deadline) {
          done = true;
          observer.disconnect();
          clearInterval(timer);
          resolve(now);
        }
      };
      const deadline = Date.now() + waitMs;
      const observer = new MutationObserver(finish);
      // Mutations inside shadow roots do not reach an observer of the document.
      for (const tree of treesUnder(document)) {
        observer.observe(tree, { subtree: true, childList: true, attributes: true, characterData: true });
      }
      const timer = setInterval(finish, 100);
      window.addEventListener("hashchange", finish);
      window.addEventListener("popstate", finish);
      document.addEventListener("readystatechange", finish);
    });
  }

  // Where to click the first visible element matching `selector`, and whether something
  // else covers that point (a cookie banner, a modal backdrop).
  // `scroll` (default true) brings the element into view first.
  function target({ selector, scroll }) {
    const q = query(selector);
    if (q.invalid) return { state: "invalid" };
    const all = q.elements;
    const el = all.find(visible);
    if (!el) return { state: all.length ? "hidden" : "missing" };
    if (scroll !== false) el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
    const rect = el.getBoundingClientRect();
    const x = rect.left + rect.width / 2;
    const y = rect.top + rect.height / 2;
    const alternative = q.index;
    const hit = deepElementFromPoint(x, y);
    if (hit && hit !== el && !composedContains(el, hit) && !composedContains(hit, el)) {
      // Name the element that covers, and the landmark it belongs to (a banner, a modal).
      const owner = hit.parentElement && hit.parentElement.closest("[id]");
      const by = owner && owner !== hit ? describe(hit) + " (in " + describe(owner) + ")" : describe(hit);
      return { state: "covered", by, x, y };
    }
    if (el.disabled) return { state: "disabled", x, y };
    return { state: "ready", x, y, alternative };
  }

  // Focuses an input and selects its content, so that typed text replaces it.
  function focusForTyping({ selector }) {
    const q = query(selector);
    const el = q.elements.find(visible);
    if (!el) return { ok: false, reason: "no visible element" };
    if (el.readOnly || el.disabled) return { ok: false, reason: describe(el) + " is read-only or disabled" };
    el.focus();
    if (typeof el.select === "function") el.select();
    if (el.value) {
      el.value = "";
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }
    return { ok: deepActiveElement() === el, reason: "could not focus " + describe(el), alternative: q.index };
  }

  function selectOption({ selector, choice }) {
    const q = query(selector);
    const el = q.elements.find(visible) || q.elements[0];
    if (!el || el.tagName !== "SELECT") return { ok: false, reason: "no <select> matches" };
    const options = Array.from(el.options);
    const opt = options.find((o) => o.value === choice) || options.find((o) => o.textContent.trim() === choice);
    if (!opt) return { ok: false, reason: "no option with value or label " + JSON.stringify(choice) + " (options: " + options.map((o) => o.textContent.trim()).join(", ") + ")" };
    el.value = opt.value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return { ok: true, alternative: q.index };
  }

  function text({ selector }) {
    const all = query(selector).elements;
    const el = all.find(visible) || all[0];
    return el ? el.innerText || el.textContent || "" : null;
  }

  function setMark({ mark }) {
    window.__gleanerMark = mark;
    return true;
  }

  // The live DOM as HTML. Open shadow roots are kept, as declarative shadow roots
  // (`<template shadowrootmode="open">` inside their host), so that `extract` reaches
  // what the page shows inside them; a page without any is serialized as before.
  function html() {
    const root = document.documentElement;
    if (!root) return "";
    const shadowRoots = shadowRootsUnder(document);
    if (!shadowRoots.length || typeof root.getHTML !== "function") return root.outerHTML;
    const attrs = Array.from(root.attributes)
      .map((a) => " " + a.name + '="' + a.value.replace(/&/g, "&amp;").replace(/"/g, "&quot;") + '"')
      .join("");
    return "<html" + attrs + ">" + root.getHTML({ shadowRoots }) + "</html>";
  }

  // A frame's element, waited for up to `waitMs`: where its viewport starts in this
  // document's viewport (its content box: border and padding left out).
  function frameOf(selector) {
    let el;
    try {
      el = document.querySelector(selector);
    } catch (e) {
      return { state: "missing" };
    }
    if (!el) return { state: "missing" };
    if (el.localName !== "iframe" && el.localName !== "frame") return { state: "not_a_frame", tag: el.localName };
    return { state: "ready", el };
  }

  // Resolves after `n` animation frames: what was scrolled or laid out before has been
  // rendered, and a scroll another process asked for (a cross-site frame's
  // `scrollIntoView` scrolls its parents asynchronously) has had a frame to arrive. A
  // document that renders no frames (hidden) does not hold the caller past 200 ms.
  function afterFrames(n) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 200);
      const step = () => {
        if (--n <= 0) {
          clearTimeout(timer);
          resolve();
        } else requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
  }

  async function frameBox({ selector, waitMs, scroll, frames }) {
    if (frames) await afterFrames(frames);
    const answer = () => {
      const found = frameOf(selector);
      if (found.state !== "ready") return found;
      const el = found.el;
      if (scroll) el.scrollIntoView({ block: "nearest", inline: "nearest", behavior: "instant" });
      const rect = el.getBoundingClientRect();
      const style = window.getComputedStyle(el);
      const x = rect.left + el.clientLeft + parseFloat(style.paddingLeft || "0");
      const y = rect.top + el.clientTop + parseFloat(style.paddingTop || "0");
      return { state: "ready", x, y, src: el.src || "" };
    };
    const first = answer();
    if (first.state === "ready" || !waitMs) return Promise.resolve(first);
    return new Promise((resolve) => {
      const deadline = Date.now() + waitMs;
      const finish = () => {
        const now = answer();
        if (now.state === "ready" || Date.now() >= deadline) {
          observer.disconnect();
          clearInterval(timer);
          resolve(now);
        }
      };
      const observer = new MutationObserver(finish);
      observer.observe(document, { subtree: true, childList: true, attributes: true });
      const timer = setInterval(finish, 100);
    });
  }

  // What a click at (x, y) of this document's viewport lands on: the frame `selector`, or
  // what covers it there (a banner over the whole page, frame included).
  function frameHit({ selector, x, y }) {
    const found = frameOf(selector);
    if (found.state !== "ready") return { state: "ready" };
    const hit = deepElementFromPoint(x, y);
    if (!hit || hit === found.el) return { state: "ready" };
    // Name the landmark it belongs to: its shadow host (a banner's web component), or the
    // nearest element with an id.
    const host = hit.getRootNode && hit.getRootNode().host;
    const owner = host || (hit.parentElement && hit.parentElement.closest("[id]"));
    const by = owner && owner !== hit ? describe(hit) + " (in " + describe(owner) + ")" : describe(hit);
    return { state: "covered", by };
  }

  function frameElement({ selector }) {
    const found = frameOf(selector);
    return found.state === "ready" ? found.el : null;
  }

  // The document's frames, each with a selector that finds it again: its id, its name, or
  // its place among the frames.
  function frames() {
    return Array.from(document.querySelectorAll("iframe, frame")).map((el, i, all) => {
      const tag = el.localName;
      if (el.id && document.querySelectorAll("#" + CSS.escape(el.id)).length === 1) return tag + "#" + CSS.escape(el.id);
      const name = el.getAttribute("name");
      if (name && document.querySelectorAll(tag + '[name="' + CSS.escape(name) + '"]').length === 1) return tag + '[name="' + CSS.escape(name) + '"]';
      const same = all.filter((f) => f.localName === tag);
      return tag + ":nth-of-type(" + (same.indexOf(el) + 1) + ")";
    });
  }

  const calls = { probe, target, focusForTyping, selectOption, text, setMark, html, frameBox, frameElement, frameHit, frames, explainMissing };
  return calls[name](args);
})
