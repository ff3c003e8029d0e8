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

  // The state of the page for a list of selectors: what exists, what is visible, what can
  // be clicked. `invalid` marks a selector the browser itself rejects.
  function snapshot(selectors, mark) {
    const sels = selectors.map((sel) => {
      let all;
      try {
        all = Array.from(document.querySelectorAll(sel));
      } catch (e) {
        return { count: 0, visible: false, enabled: false, invalid: true };
      }
      const shown = all.filter(visible);
      return {
        count: all.length,
        visible: shown.length > 0,
        enabled: shown.some((el) => !el.disabled && el.getAttribute("aria-disabled") !== "true"),
        invalid: false,
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
      observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
      const timer = setInterval(finish, 100);
      window.addEventListener("hashchange", finish);
      window.addEventListener("popstate", finish);
      document.addEventListener("readystatechange", finish);
    });
  }

  // Where to click the first visible element matching `selector`, and whether something
  // else covers that point (a cookie banner, a modal backdrop).
  function target({ selector }) {
    let all;
    try {
      all = Array.from(document.querySelectorAll(selector));
    } catch (e) {
      return { state: "invalid" };
    }
    const el = all.find(visible);
    if (!el) return { state: all.length ? "hidden" : "missing" };
    el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
    const rect = el.getBoundingClientRect();
    const x = rect.left + rect.width / 2;
    const y = rect.top + rect.height / 2;
    const hit = document.elementFromPoint(x, y);
    if (hit && hit !== el && !el.contains(hit) && !hit.contains(el)) {
      // Name the element that covers, and the landmark it belongs to (a banner, a modal).
      const owner = hit.parentElement && hit.parentElement.closest("[id]");
      const by = owner && owner !== hit ? describe(hit) + " (in " + describe(owner) + ")" : describe(hit);
      return { state: "covered", by, x, y };
    }
    if (el.disabled) return { state: "disabled", x, y };
    return { state: "ready", x, y };
  }

  // Focuses an input and selects its content, so that typed text replaces it.
  function focusForTyping({ selector }) {
    const el = Array.from(document.querySelectorAll(selector)).find(visible);
    if (!el) return { ok: false, reason: "no visible element" };
    if (el.readOnly || el.disabled) return { ok: false, reason: describe(el) + " is read-only or disabled" };
    el.focus();
    if (typeof el.select === "function") el.select();
    if (el.value) {
      el.value = "";
      el.dispatchEvent(new Event("input", { bubbles: true }));
    }
    return { ok: document.activeElement === el, reason: "could not focus " + describe(el) };
  }

  function selectOption({ selector, choice }) {
    const el = Array.from(document.querySelectorAll(selector)).find(visible) || document.querySelector(selector);
    if (!el || el.tagName !== "SELECT") return { ok: false, reason: "no <select> matches" };
    const options = Array.from(el.options);
    const opt = options.find((o) => o.value === choice) || options.find((o) => o.textContent.trim() === choice);
    if (!opt) return { ok: false, reason: "no option with value or label " + JSON.stringify(choice) + " (options: " + options.map((o) => o.textContent.trim()).join(", ") + ")" };
    el.value = opt.value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return { ok: true };
  }

  function text({ selector }) {
    const all = Array.from(document.querySelectorAll(selector));
    const el = all.find(visible) || all[0];
    return el ? el.innerText || el.textContent || "" : null;
  }

  function setMark({ mark }) {
    window.__gleanerMark = mark;
    return true;
  }

  function html() {
    return document.documentElement ? document.documentElement.outerHTML : "";
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

  function frameBox({ selector, waitMs, scroll }) {
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

  const calls = { probe, target, focusForTyping, selectOption, text, setMark, html, frameBox, frameElement, frames };
  return calls[name](args);
})
