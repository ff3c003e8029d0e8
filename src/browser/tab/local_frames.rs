//! Frames pointing at local schemes, kept out of every document.

/// Runs before each document's own scripts: removes frames (and objects, embeds) pointing at
/// local schemes as soon as they are inserted. Chromium refuses to load them, but the frame
/// then never sends a lifecycle event, and a navigation's wait for every frame's `load`
/// (chromiumoxide's) held `goto` until its timeout.
pub(super) const REFUSE_LOCAL_FRAMES: &str = r#"(() => {
  const local = (u) => /^\s*(file|filesystem|view-source|chrome|chrome-extension|chrome-untrusted|devtools):/i.test(u || '');
  const check = (el) => {
    const tag = el.localName;
    const src = tag === 'object' ? el.getAttribute('data') : el.getAttribute('src');
    if (['iframe', 'frame', 'object', 'embed'].includes(tag) && local(src)) el.remove();
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') check(r.target);
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        check(n);
        n.querySelectorAll('iframe, frame, object, embed').forEach(check);
      }
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['src', 'data'] });
})();"#;
