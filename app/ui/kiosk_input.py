"""Kiosk input that survives fast and double taps.

* :func:`code_keypad` — the code keypad as one ``st.components.v2`` widget: digits are collected in the
  browser (a tap changes the display at once, no server round trip, so no tap can be dropped or reordered)
  and only the whole code is sent, when the patient taps Start.
* :func:`tap_guard` — a capture-phase listener in the page that ignores taps on the kiosk screen while the
  server answers the previous tap, while a screen is being drawn, and for :data:`DWELL_MS` after a new
  question began to appear: a second tap of a double tap can never land on a question the patient has not
  seen. Every guarded screen starts with :func:`screen_begin` and ends with :func:`screen_marker` of the
  same run; the screen is complete when both are in the page.

  Why both: with only the end marker, the guard did not know a screen was being drawn when the change was
  not started by a guarded tap (a page load or reload, the keypad's Start, a timeout). It reported
  ``ready()`` while the new screen's buttons were already visible but its marker had not arrived; the
  marker's arrival then started the dwell, and a tap made in between — after ``ready()`` — was swallowed.
  Now the begin marker (the screen's first element) locks the guard before any of the screen is visible,
  the dwell counts from it, and ``ready()`` is true only once the screen is complete and seen long enough.

  A screen whose begin marker never reaches the page: when a full-app run replaced a fragment's screen while
  the idle watch's timed fragment ran beside it, Streamlit (1.67) now and then dropped the first element of
  that run — the begin marker. The guard then never saw the new screen (in Chromium: the thank-you screen was
  on display, the guard still named the questionnaire's end). An end marker newer than every begin marker
  therefore counts as a complete screen on its own (the dwell counts from its arrival; ``lostBegin`` counts
  such screens), and the thank-you screen is drawn inside the questionnaire fragment, not by a full run.

The store binds the tap to the question on the server side as well (``Kiosk.show_item`` /
``Kiosk.save_answer``): a tap that still reaches the server for another question is refused.
"""

from __future__ import annotations

import html

import streamlit as st

#: taps are ignored for this long after a new question (or screen) has appeared, in milliseconds
DWELL_MS = 600
#: a tap whose answer does not come back within this time no longer blocks the screen (milliseconds)
WAIT_MS = 8000

_KEYPAD_CSS = """
/* ltr: the digits keep the telephone order in a right-to-left language too */
.psy-keypad { display: flex; flex-direction: column; gap: 0.5rem; direction: ltr; }
.psy-keypad .psy-code { font-size: 2.6rem; letter-spacing: 0.3rem; text-align: center;
  font-variant-numeric: tabular-nums; padding: 0.5rem; border: 2px solid #888; border-radius: 0.75rem;
  min-height: 4rem; box-sizing: border-box; }
.psy-keypad .psy-keys { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0.5rem; }
.psy-keypad button { min-height: 56px; min-width: 56px; font-size: 1.5rem; border-radius: 0.75rem;
  border: 1px solid rgba(49, 51, 63, 0.3); background: #fff; color: rgb(49, 51, 63); cursor: pointer;
  touch-action: manipulation; -webkit-tap-highlight-color: transparent; font-family: inherit; }
.psy-keypad button:active { background: #eef5ff; }
.psy-keypad button.psy-start { background: rgb(255, 75, 75); color: #fff; border-color: rgb(255, 75, 75);
  font-size: 1.35rem; }
.psy-keypad button:disabled { opacity: 0.45; cursor: not-allowed; }
"""

# Built once per mount; later renders only update labels and (when the server asks) clear the digits.
_KEYPAD_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('.psy-keypad');
  if (!root) {
    root = document.createElement('div');
    root.className = 'psy-keypad';
    root.setAttribute('data-testid', 'psy-keypad');
    root.innerHTML = '<div class="psy-code" data-testid="psy-code" aria-live="polite"></div>'
      + '<div class="psy-keys"></div><button type="button" class="psy-start" data-key="start"></button>';
    const keys = root.querySelector('.psy-keys');
    for (const k of ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'delete']) {
      const b = document.createElement('button');
      b.type = 'button'; b.dataset.key = k; b.textContent = k;
      keys.appendChild(b);
    }
    root.psy = { digits: '', reset: null, max: 8, taps: 0 };
    const show = () => {
      const st = root.psy, shown = st.digits + '_'.repeat(st.max - st.digits.length);
      const groups = [];
      for (let i = 0; i < shown.length; i += 4) groups.push(shown.slice(i, i + 4));
      root.querySelector('.psy-code').textContent = groups.join(' ');
      root.querySelector('.psy-code').dataset.digits = st.digits;
      root.querySelector('.psy-start').disabled = st.digits.length !== st.max;
      for (const b of keys.querySelectorAll('button')) {
        if (/^[0-9]$/.test(b.dataset.key)) b.disabled = st.digits.length >= st.max;
      }
    };
    root.psy.show = show;
    // pointerdown, not click: every finger down is one key press, however fast, in the order given
    root.addEventListener('pointerdown', (e) => {
      const b = e.target.closest('button');
      if (!b || b.disabled) return;
      e.preventDefault();
      const st = root.psy, k = b.dataset.key;
      st.taps += 1;
      if (k === 'start') {
        if (st.digits.length === st.max) {
          const code = st.digits;
          st.digits = ''; show(); setTriggerValue('submit', code);
        }
        return;
      }
      if (k === 'clear') st.digits = '';
      else if (k === 'delete') st.digits = st.digits.slice(0, -1);
      else if (st.digits.length < st.max) st.digits += k;
      show();
    });
    root.addEventListener('click', (e) => e.preventDefault());
    parentElement.appendChild(root);
  }
  const st = root.psy;
  st.max = data.max;
  if (st.reset !== data.reset) { st.reset = data.reset; st.digits = ''; }
  root.querySelector('.psy-code').setAttribute('aria-label', data.display_label);
  root.querySelector('[data-key=clear]').textContent = data.clear;
  root.querySelector('[data-key=delete]').textContent = data.delete;
  root.querySelector('.psy-start').textContent = data.start;
  st.show();
}
"""

_keypad_component = st.components.v2.component("psyscore_keypad", css=_KEYPAD_CSS, js=_KEYPAD_JS,
                                                 isolate_styles=False)


def code_keypad(*, key: str, max_digits: int, labels: dict[str, str], reset: int) -> str:
    """The code keypad (1–9, clear, 0, delete, Start); returns the code when Start was tapped with a full
    code in this run, else ''. A new ``reset`` clears the digits in the browser.

    ``labels`` holds ``clear``, ``delete``, ``start`` and ``display_label`` in the tablet's language.
    """
    result = _keypad_component(key=key, data={"max": max_digits, "reset": reset, **labels},
                               on_submit_change=_no_op)
    code = getattr(result, "submit", None)
    return code if isinstance(code, str) else ""


def _no_op() -> None:
    """The keypad's trigger needs a callback to be delivered; the code is read from the mount's result."""


_GUARD_JS = """
<div data-psy-kiosk style="height:0;overflow:hidden" aria-hidden="true"></div>
<script>
(function () {
  if (window.__psyTapGuard) return;
  // screen: the complete screen on display (its begin and end markers are of the same run); log: one entry
  // per complete screen or run, [time the screen began to appear (ms since epoch), screen, run]
  const G = window.__psyTapGuard = { screen: null, run: null, shownAt: 0, lockedUntil: 0, waiting: false,
    waitingSince: 0, drawing: false, drawingSince: 0, begin: null, beganAt: 0, beganPerf: 0, downLocked: false,
    blocked: 0, lostBegin: 0, log: [] };
  const DWELL = %(dwell)d, WAIT = %(wait)d;
  // the newest marker (highest run): a screen drawn at other positions than the last one leaves stale
  // markers in the page until Streamlit's run ends
  const newest = (attr) => {
    let best = null;
    for (const m of document.querySelectorAll('[' + attr + ']')) {
      const run = Number(m.getAttribute('data-psy-run'));
      if (best === null || run > best.run) best = { screen: m.getAttribute(attr), run: run };
    }
    return best;
  };
  const observe = () => {
    const e = newest('data-psy-screen');
    let b = newest('data-psy-begin');
    if (e && (b === null || e.run > b.run) && (G.run === null || e.run > Number(G.run))) {
      // an end marker newer than every begin marker: Streamlit dropped this screen's begin marker (seen when a
      // full run replaced a fragment's screen); the end marker alone says the screen is complete
      if (G.begin === null || G.begin.run !== e.run) G.lostBegin += 1;
      b = e;
    }
    if (b && (G.begin === null || b.run !== G.begin.run)) {  // a screen (or a new run of it) started to draw
      G.begin = b;
      if (b.screen !== G.screen) { G.beganAt = Date.now(); G.beganPerf = performance.now(); }
      G.drawing = true; G.drawingSince = performance.now();
    }
    if (!G.drawing || !b || !e || e.run !== b.run || e.screen !== b.screen) return;
    G.drawing = false;  // complete: the server answered the last tap with this run
    G.waiting = false;
    if (e.screen !== G.screen) {  // a new screen: the dwell counts from when it began to appear
      G.lockedUntil = G.beganPerf + DWELL; G.shownAt = Date.now();
      G.log.push([G.beganAt, e.screen, String(e.run)]);
    } else {
      G.log.push([Date.now(), e.screen, String(e.run)]);
    }
    G.screen = e.screen; G.run = String(e.run);
  };
  new MutationObserver(observe).observe(document.documentElement,
    { subtree: true, childList: true, attributes: true,
      attributeFilter: ['data-psy-run', 'data-psy-screen', 'data-psy-begin'] });
  observe();
  const locked = () => {
    const now = performance.now();
    if (G.waiting && now - G.waitingSince >= WAIT) G.waiting = false;  // no answer came: let go
    if (G.drawing && now - G.drawingSince >= WAIT) G.drawing = false;  // a run that never ended: let go
    return G.drawing || now < G.lockedUntil || G.waiting;
  };
  G.ready = () => G.screen !== null && !locked();
  const guarded = (e) => {
    const t = e.target;
    return !!(t && t.closest && t.closest('[data-testid=stMain]') && !t.closest('.psy-keypad')
              && document.querySelector('[data-psy-kiosk]') && (G.screen !== null || G.begin !== null));
  };
  const stop = (e) => { e.preventDefault(); e.stopPropagation(); e.stopImmediatePropagation(); };
  const onDown = (e) => {
    if (!guarded(e)) return;
    G.downLocked = locked();
    if (G.downLocked) { G.blocked += 1; stop(e); }
  };
  const onUp = (e) => { if (guarded(e) && (G.downLocked || locked())) stop(e); };
  const onClick = (e) => {
    if (!guarded(e)) return;
    if (G.downLocked || locked()) { G.downLocked = false; stop(e); return; }
    const b = e.target.closest('button');
    if (b && !b.disabled) { G.waiting = true; G.waitingSince = performance.now(); }
  };
  const opts = { capture: true, passive: false };  // document touch listeners are passive unless told
  for (const t of ['pointerdown', 'touchstart', 'mousedown']) document.addEventListener(t, onDown, opts);
  for (const t of ['pointerup', 'touchend', 'mouseup']) document.addEventListener(t, onUp, opts);
  document.addEventListener('click', onClick, opts);
})();
</script>
"""


def tap_guard() -> None:
    """Install the page's tap guard (once per browser page; later calls do nothing in the browser)."""
    st.html(_GUARD_JS % {"dwell": DWELL_MS, "wait": WAIT_MS}, unsafe_allow_javascript=True)


def screen_begin(screen: str, run: int) -> None:
    """Mark the start of a guarded screen (its first element): the tap guard holds taps from here until the
    screen's :func:`screen_marker` of the same ``run`` is in the page, and for :data:`DWELL_MS` from here when
    ``screen`` is new — so a tap is never taken while a screen is half drawn, and the dwell counts from when
    the patient could first see it."""
    st.html(f'<div data-psy-begin="{html.escape(screen)}" data-psy-run="{int(run)}" '
            f'style="height:0;overflow:hidden" aria-hidden="true"></div>')


def screen_marker(screen: str, run: int) -> None:
    """Mark the end of a guarded screen (its last element): ``screen`` names what is shown, ``run`` is the
    number :func:`screen_begin` got in this run (the server has answered the last tap)."""
    st.html(f'<div data-psy-screen="{html.escape(screen)}" data-psy-run="{int(run)}" '
            f'style="height:0;overflow:hidden" aria-hidden="true"></div>')
