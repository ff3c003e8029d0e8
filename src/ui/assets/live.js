// The live screen: the site's page the person drives, drawn from the collect's frames.
//
// - The page is laid out for the person's display: the room the screen has here and the
//   pixel ratio go to the service (`display`), which sizes the remote viewport to match,
//   so text shows at the site's own size instead of a desktop page shrunk into a phone.
// - Zoom (buttons, Ctrl+wheel) and pan (scroll the frame), and full screen (the Fullscreen
//   API, or the whole frame when the host page did not allow it).
// - A visible text box forwards what is typed to the page's focused element: on a touch
//   device it brings up the on-screen keyboard. The service says what has the page's
//   keyboard (`focus`): it is outlined on the screen and named next to the box.
//
// ui.js owns the WebSocket and the rest of the page; it calls the returned object.
(() => {
  'use strict';

  const ZOOMS = [1, 1.5, 2, 3, 4];
  const SPECIAL_KEYS = new Set(['Enter', 'Backspace', 'Tab', 'Escape', 'Delete', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown', 'Home', 'End']);
  const INPUT_MODES = { email: 'email', tel: 'tel', number: 'decimal', url: 'url', search: 'search' };
  const clamp01 = (v) => Math.min(1, Math.max(0, v));

  // el: { root, frame, stage, canvas, ring, zoomIn, zoomOut, zoomLevel, fullscreen, text,
  //       focusNote }; t: the page's translations; send: sends a message, false if not sent.
  function createLiveScreen(el, t, send) {
    const ctx2d = el.canvas.getContext('2d');
    const L = {
      visible: false,
      lastFrame: null,
      lastSeq: -1,
      zoom: 1,
      sentDisplay: '',
      focus: null,
      typed: '', // the text box's value as already forwarded
      lastPointer: 'mouse',
      wheel: { dx: 0, dy: 0, x: 0.5, y: 0.5, pending: false },
    };

    // ------------------------------------------------------------ display and layout

    // The room the screen has, in CSS pixels: the frame's box, not the canvas (which zoom
    // makes bigger) and not its client area (which scrollbars make smaller).
    function room() {
      const r = el.frame.getBoundingClientRect();
      const cs = getComputedStyle(el.frame);
      const bx = parseFloat(cs.borderLeftWidth) + parseFloat(cs.borderRightWidth);
      const by = parseFloat(cs.borderTopWidth) + parseFloat(cs.borderBottomWidth);
      return { width: Math.max(0, Math.floor(r.width - bx)), height: Math.max(0, Math.floor(r.height - by)) };
    }

    function sendDisplay(force) {
      if (!L.visible) return;
      const { width, height } = room();
      if (width < 1 || height < 1) return;
      const touch = !!(window.matchMedia && window.matchMedia('(pointer: coarse)').matches);
      const scale = Math.round((window.devicePixelRatio || 1) * 100) / 100;
      const msg = { type: 'display', width, height, scale: Math.min(4, Math.max(0.5, scale)), touch };
      const key = JSON.stringify(msg);
      if (!force && key === L.sentDisplay) return;
      if (send(msg)) L.sentDisplay = key;
    }

    function layout() {
      const { width: fw, height: fh } = room();
      const iw = el.canvas.width;
      const ih = el.canvas.height;
      if (!fw || !fh || !iw || !ih) return;
      const s = Math.min(fw / iw, fh / ih) * L.zoom;
      const w = Math.max(1, Math.floor(iw * s));
      const h = Math.max(1, Math.floor(ih * s));
      el.stage.style.width = w + 'px';
      el.stage.style.height = h + 'px';
      el.stage.style.marginLeft = Math.max(0, Math.floor((fw - w) / 2)) + 'px';
      el.stage.style.marginTop = Math.max(0, Math.floor((fh - h) / 2)) + 'px';
      el.frame.classList.toggle('zoomed', L.zoom > 1);
    }

    const resized = () => {
      layout();
      sendDisplay(false);
    };
    if (window.ResizeObserver) new ResizeObserver(resized).observe(el.frame);
    window.addEventListener('resize', resized);
    document.addEventListener('fullscreenchange', () => {
      el.fullscreen.setAttribute('aria-pressed', String(isFull()));
      resized();
    });

    // ------------------------------------------------------------ frames

    function drawPlaceholder() {
      const { width, height } = el.canvas;
      ctx2d.fillStyle = '#e9edf5';
      ctx2d.fillRect(0, 0, width, height);
      ctx2d.fillStyle = '#5a6477';
      ctx2d.font = `${Math.round(height / 18)}px system-ui, sans-serif`;
      ctx2d.textAlign = 'center';
      ctx2d.textBaseline = 'middle';
      ctx2d.fillText(t('liveWaiting'), width / 2, height / 2);
    }

    function drawFrame(msg, force) {
      const format = ['jpeg', 'png', 'webp'].includes(msg.format) ? msg.format : 'jpeg';
      const img = new Image();
      img.onload = () => {
        if (!force && L.lastFrame !== msg) return; // a newer frame is on its way
        const w = img.naturalWidth;
        const h = img.naturalHeight;
        if (w > 0 && h > 0 && (el.canvas.width !== w || el.canvas.height !== h)) {
          el.canvas.width = w;
          el.canvas.height = h;
          layout();
        }
        ctx2d.drawImage(img, 0, 0, el.canvas.width, el.canvas.height);
        el.canvas.dataset.seq = String(msg.seq);
      };
      img.src = `data:image/${format};base64,${msg.data}`;
    }

    function onFrame(msg) {
      if (typeof msg.data !== 'string') return;
      const seq = Number(msg.seq);
      if (Number.isFinite(seq) && seq <= L.lastSeq && seq > 0) return;
      if (Number.isFinite(seq)) L.lastSeq = seq;
      L.lastFrame = msg;
      if (L.visible) drawFrame(msg, false);
    }

    // ------------------------------------------------------------ focus

    function sameTarget(a, b) {
      return !!a && !!b && a.kind === b.kind && a.label === b.label;
    }

    function onFocus(msg) {
      const focus = {
        kind: String(msg.kind || 'none'),
        takesText: msg.takes_text === true ? true : msg.takes_text === false ? false : null,
        label: typeof msg.label === 'string' ? msg.label : '',
        area: msg.area && typeof msg.area === 'object' ? msg.area : null,
      };
      if (!sameTarget(focus, L.focus)) {
        // Another element: the box starts afresh for it.
        el.text.value = '';
        L.typed = '';
      }
      L.focus = focus;
      el.text.type = focus.kind === 'password' ? 'password' : 'text';
      el.text.inputMode = INPUT_MODES[focus.kind] || 'text';
      let note;
      if (focus.takesText === false) note = t('focusNothing');
      else if (focus.kind === 'frame') note = t('focusFrame');
      else note = focus.label ? t('focusField', { label: focus.label }) : t('focusFieldUnnamed');
      el.focusNote.textContent = note;
      el.root.dataset.focus = focus.kind;
      const a = focus.area;
      if (a && focus.kind !== 'none') {
        el.ring.style.left = clamp01(Number(a.x)) * 100 + '%';
        el.ring.style.top = clamp01(Number(a.y)) * 100 + '%';
        el.ring.style.width = clamp01(Number(a.width)) * 100 + '%';
        el.ring.style.height = clamp01(Number(a.height)) * 100 + '%';
        el.ring.hidden = false;
      } else {
        el.ring.hidden = true;
      }
      // A tap that landed on something taking no text: the on-screen keyboard goes away.
      if (focus.takesText === false && document.activeElement === el.text && L.lastPointer === 'touch') el.text.blur();
    }

    // ------------------------------------------------------------ input on the screen

    el.canvas.addEventListener('click', (e) => {
      const r = el.canvas.getBoundingClientRect();
      if (!r.width || !r.height) return;
      send({ type: 'click', x: clamp01((e.clientX - r.left) / r.width), y: clamp01((e.clientY - r.top) / r.height) });
      // On a touch screen, the box must take the focus within the tap itself for the
      // on-screen keyboard to show; with a mouse, keys typed on the screen go through.
      if (L.lastPointer === 'touch') el.text.focus({ preventScroll: true });
      else el.canvas.focus({ preventScroll: true });
    });

    el.canvas.addEventListener('keydown', (e) => {
      if (e.isComposing) return;
      // Shift+Tab stays with the page, so that keyboard users can always leave the screen.
      if (e.key === 'Tab' && e.shiftKey) return;
      const altGraph = e.getModifierState && e.getModifierState('AltGraph');
      const modified = (e.ctrlKey || e.metaKey || e.altKey) && !altGraph;
      if (SPECIAL_KEYS.has(e.key) && !modified) {
        e.preventDefault();
        send({ type: 'keydown', key: e.key });
      } else if (!modified && [...e.key].length === 1) {
        e.preventDefault();
        send({ type: 'text', text: e.key });
      }
    });

    el.canvas.addEventListener('paste', (e) => {
      const text = e.clipboardData ? e.clipboardData.getData('text/plain') : '';
      if (!text) return;
      e.preventDefault();
      send({ type: 'text', text: text.slice(0, 8000) });
    });

    // The wheel scrolls the site's page, one message per animation frame at most; with
    // Ctrl it zooms the screen here. Zoomed in, it pans the screen (the browser's own).
    function flushWheel() {
      const w = L.wheel;
      w.pending = false;
      if (!w.dx && !w.dy) return;
      send({ type: 'scroll', x: w.x, y: w.y, dx: Math.round(w.dx), dy: Math.round(w.dy) });
      w.dx = 0;
      w.dy = 0;
    }

    function scrollSite(x, y, dx, dy) {
      const w = L.wheel;
      w.x = x;
      w.y = y;
      w.dx += dx;
      w.dy += dy;
      if (!w.pending) {
        w.pending = true;
        requestAnimationFrame(flushWheel);
      }
    }

    function pointOf(e) {
      const r = el.canvas.getBoundingClientRect();
      return { x: clamp01((e.clientX - r.left) / (r.width || 1)), y: clamp01((e.clientY - r.top) / (r.height || 1)) };
    }

    el.canvas.addEventListener('wheel', (e) => {
      if (e.ctrlKey) {
        e.preventDefault();
        setZoom(e.deltaY < 0 ? 1 : -1);
        return;
      }
      if (L.zoom > 1) return;
      e.preventDefault();
      const unit = e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? el.canvas.clientHeight : 1;
      const p = pointOf(e);
      scrollSite(p.x, p.y, e.deltaX * unit, e.deltaY * unit);
    }, { passive: false });

    // A finger dragged on the unzoomed screen scrolls the site's page (zoomed in, it pans
    // the screen instead: the frame scrolls natively).
    let drag = null;
    el.canvas.addEventListener('pointerdown', (e) => {
      L.lastPointer = e.pointerType || 'mouse';
      if (e.pointerType !== 'touch' || L.zoom > 1) return;
      drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
    });
    el.canvas.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const dx = drag.x - e.clientX;
      const dy = drag.y - e.clientY;
      drag.x = e.clientX;
      drag.y = e.clientY;
      const r = el.canvas.getBoundingClientRect();
      // Finger pixels here are (image / screen) pixels of the site.
      const k = r.width ? el.canvas.width / r.width / (window.devicePixelRatio || 1) : 1;
      const p = pointOf(e);
      scrollSite(p.x, p.y, dx * k, dy * k);
    });
    const endDrag = () => { drag = null; };
    el.canvas.addEventListener('pointerup', endDrag);
    el.canvas.addEventListener('pointercancel', endDrag);

    // ------------------------------------------------------------ the text box

    // What changed since the last forward: the characters removed from the end (sent as
    // Backspace) and the ones added (sent as text). An on-screen keyboard's corrections
    // and compositions arrive this way too.
    function forwardText() {
      const before = Array.from(L.typed);
      const now = Array.from(el.text.value);
      let same = 0;
      while (same < before.length && same < now.length && before[same] === now[same]) same++;
      for (let i = before.length; i > same; i--) send({ type: 'keydown', key: 'Backspace' });
      const added = now.slice(same).join('');
      if (added) send({ type: 'text', text: added.slice(0, 8000) });
      L.typed = el.text.value;
    }

    el.text.addEventListener('input', (e) => {
      if (e.isComposing) return;
      forwardText();
    });
    el.text.addEventListener('compositionend', forwardText);
    el.text.addEventListener('keydown', (e) => {
      if (e.isComposing) return;
      if (e.key === 'Enter') {
        e.preventDefault();
        forwardText();
        send({ type: 'keydown', key: 'Enter' });
        el.text.value = '';
        L.typed = '';
      } else if (e.key === 'Backspace' && el.text.value === '') {
        // Nothing left here: the person wants to erase what the field already held.
        send({ type: 'keydown', key: 'Backspace' });
      }
    });

    // ------------------------------------------------------------ zoom and full screen

    function setZoom(step) {
      const i = ZOOMS.indexOf(L.zoom);
      const next = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, i + step))];
      if (next === L.zoom) return;
      // Keep the middle of what is shown in the middle.
      const f = el.frame;
      const cx = (f.scrollLeft + f.clientWidth / 2) / (f.scrollWidth || 1);
      const cy = (f.scrollTop + f.clientHeight / 2) / (f.scrollHeight || 1);
      L.zoom = next;
      layout();
      f.scrollLeft = cx * f.scrollWidth - f.clientWidth / 2;
      f.scrollTop = cy * f.scrollHeight - f.clientHeight / 2;
      showZoom();
    }

    function showZoom() {
      el.zoomLevel.textContent = Math.round(L.zoom * 100) + ' %';
      el.zoomOut.disabled = L.zoom <= ZOOMS[0];
      el.zoomIn.disabled = L.zoom >= ZOOMS[ZOOMS.length - 1];
    }

    el.zoomIn.addEventListener('click', () => setZoom(1));
    el.zoomOut.addEventListener('click', () => setZoom(-1));

    function isFull() {
      return document.fullscreenElement === el.root || el.root.classList.contains('expanded');
    }

    async function toggleFull() {
      if (isFull()) {
        if (document.fullscreenElement === el.root) await document.exitFullscreen().catch(() => {});
        el.root.classList.remove('expanded');
      } else {
        let native = false;
        if (el.root.requestFullscreen && document.fullscreenEnabled) {
          native = await el.root.requestFullscreen().then(() => true, () => false);
        }
        // A host page that did not allow full screen on its frame: the whole frame then.
        if (!native) el.root.classList.add('expanded');
      }
      el.fullscreen.setAttribute('aria-pressed', String(isFull()));
      resized();
    }

    el.fullscreen.addEventListener('click', toggleFull);
    el.root.addEventListener('keydown', (e) => {
      // Escape leaves the frame-sized screen (the browser handles its own full screen);
      // on the screen itself it belongs to the site.
      if (e.key === 'Escape' && el.root.classList.contains('expanded') && e.target !== el.canvas) {
        e.preventDefault();
        toggleFull();
      }
    });

    // ------------------------------------------------------------ show and hide

    function show() {
      const was = L.visible;
      L.visible = true;
      showZoom();
      if (!was) {
        if (L.lastFrame) drawFrame(L.lastFrame, true);
        else drawPlaceholder();
      }
      layout();
      sendDisplay(!was);
      return !was;
    }

    function hide() {
      L.visible = false;
      L.focus = null;
      L.sentDisplay = '';
      L.zoom = 1;
      el.text.value = '';
      L.typed = '';
      el.ring.hidden = true;
      el.focusNote.textContent = '';
      if (document.fullscreenElement === el.root) document.exitFullscreen().catch(() => {});
      el.root.classList.remove('expanded');
    }

    // A new collect: nothing of the previous one's screen is kept.
    function reset() {
      hide();
      L.lastFrame = null;
      L.lastSeq = -1;
    }

    return {
      show,
      hide,
      reset,
      onFrame,
      onFocus,
      // After a reconnection the service knows no display: tell it again.
      resendDisplay: () => sendDisplay(true),
    };
  }

  window.gleanerLiveScreen = createLiveScreen;
})();
