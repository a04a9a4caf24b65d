"""What the page needs beyond Gradio's components: a few lines of CSS and JavaScript, passed to launch().

Each rule fixes a problem seen in the browser (issue 8) that no component option reaches:
- Pressing Enter in a dropdown that takes typed values picks the first entry *containing* the text
  (typing `vgg16` became `vgg16_bn`). Enter now commits what was typed, unless the user moved
  through the list with the arrow keys; leaving the field (blur) is Gradio's own way to commit it.
- Sample-image buttons and thumbnails have no accessible name: they get one from their picture.
- A result picture's label badge and its buttons float over the picture's top edge, where figures put their
  titles and column labels: every picture but the input starts below that strip instead.
- Grey help text fails WCAG contrast; on a phone the result sat ~1,500 px down, below every control (it now comes
  first once there is one; before, Run does), and the sample thumbnails were squeezed into slivers.
- Tabs were one Tab stop each with no arrow keys; a dropdown's list stayed open after tabbing past it.
- axe-core (issue 38): Gradio's empty result boxes carry `aria-label` on a div with no role (aria-prohibited-attr):
  they get role="img", which the label then names; its subdued grey ("- or -", a slider's ends) is 1.9:1 on white,
  Stop's white on red 3.8:1 and the JSON viewer's colours (made for a dark background) 2.6:1: darker ones here.
  A chosen prediction (a button: Tab reaches it, Enter chooses it) shows a clear focus ring. docs/upstream-gradio.md
  has the reports for Gradio.
- Issue 38: a Stop button was always on screen; it now shows only while one of its runs is in flight (counted by the
  events app/controls.py's `stops` wires). An error toast stayed over the next action's result: the next action
  (a button pressed, an option or a file chosen) closes it.
"""

from __future__ import annotations

from app.controls import STOP_CLASS

TYPED_DROPDOWNS = "#backbone, #target, [id^='layer-']"  # single-choice lists that accept typed values

JS = """
() => {
  const typed = "{typed}";
  document.addEventListener("keydown", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.closest(typed)) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") { input.dataset.browsed = "1"; return; }
    if (event.key !== "Enter") { delete input.dataset.browsed; return; }
    if (input.dataset.browsed || !input.value.trim()) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    input.blur();
  }, true);
  const name = (button) => {
    const picture = button.querySelector("img");
    if (!picture || button.getAttribute("aria-label")) return;
    const file = decodeURIComponent((picture.getAttribute("src") || "").split("/").pop() || "");
    const label = picture.alt || file.replace(/\\.[a-z]+$/i, "").replace(/[-_]/g, " ");
    if (label) button.setAttribute("aria-label", (button.closest(".gallery") ? "" : "Sample image: ") + label);
  };
  // Tabs as the ARIA tabs pattern: one Tab stop per tab list (the chosen tab), arrow keys, Home and End between.
  const tabsOf = (tab) => {
    const list = tab.closest("[role=tablist]");
    return list ? [...list.querySelectorAll("button[role=tab]")].filter((t) => t.closest("[role=tablist]") === list
      && t.offsetParent !== null) : [];
  };
  document.addEventListener("keydown", (event) => {
    const tab = event.target instanceof Element && event.target.closest("button[role=tab]");
    if (!tab) return;
    const tabs = tabsOf(tab), at = tabs.indexOf(tab);
    const next = {ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0,
                  End: tabs.length - 1}[event.key];
    if (next === undefined || at < 0) return;
    event.preventDefault();
    const chosen = tabs[(next + tabs.length) % tabs.length];
    chosen.click();
    chosen.focus();
  });
  // Tabbing past a dropdown left its list open (filtered to the value): leaving it closes it, as Escape does.
  document.addEventListener("focusout", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.closest(".wrap-inner")) return;
    setTimeout(() => {
      if (document.activeElement !== input) {
        input.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", bubbles: true}));
      }
    }, 0);
  });
  // A Stop shows only while one of its runs is in flight (app/controls.py's `stops` counts them in and out). One
  // style sheet hides every other Stop, so a Stop drawn again (a tab opened anew) keeps its state.
  const running = {};
  const sheet = document.head.appendChild(document.createElement("style"));
  const draw = () => {
    const shown = Object.keys(running).filter((id) => running[id] > 0).map((id) => `:not(#${CSS.escape(id)})`);
    sheet.textContent = `.{stop}${shown.join("")} { display: none !important; }`;
  };
  const count = (id, change) => { running[id] = Math.max(0, (running[id] || 0) + change); draw(); };
  window.cnnlensRuns = {
    start: (id) => count(id, 1), end: (id) => count(id, -1), stop: (id) => count(id, -Infinity),
  };
  draw();
  // The last action's error toast goes with the next action (a button pressed, an option or a file chosen): left, it
  // sat over the next result. A toast's own buttons are its own.
  const dismiss = (event) => {
    const target = event.target;
    if (!(target instanceof Element) || target.closest(".toast-wrap")) return;
    if (event.type === "click" && !target.closest("button, [role=option], label, input")) return;
    document.querySelectorAll(".toast-wrap [data-testid=toast-close]").forEach((close) => close.click());
  };
  document.addEventListener("click", dismiss, true);
  document.addEventListener("change", dismiss, true);
  let pending = false;
  const tidy = () => {
    pending = false;
    document.querySelectorAll("button.gallery-item, button.thumbnail-item").forEach(name);
    // An empty box says "Empty value" through aria-label on a plain div, which ARIA forbids: as an image it may.
    document.querySelectorAll("div.empty[aria-label]:not([role])").forEach((box) => box.setAttribute("role", "img"));
    // Chromium makes a scrolling list a Tab stop: tabbing past a dropdown landed in its open list, which then
    // vanished and left focus on the page body (the list stayed open until then). The input alone is the stop.
    document.querySelectorAll("ul[role=listbox]:not([tabindex])")
      .forEach((list) => list.setAttribute("tabindex", "-1"));
    document.querySelectorAll("button[role=tab]").forEach((tab) => {
      const stop = tab.getAttribute("aria-selected") === "true" ? "0" : "-1";
      if (tab.getAttribute("tabindex") !== stop) tab.setAttribute("tabindex", stop);
    });
  };
  new MutationObserver(() => { if (!pending) { pending = true; requestAnimationFrame(tidy); } })
    .observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ["aria-selected"]});
}
""".replace("{typed}", TYPED_DROPDOWNS).replace("{stop}", STOP_CLASS)

CSS = """
.gradio-container {
  --block-info-text-color: #4b5563;
  --button-primary-background-fill: #c2410c;
  --button-primary-background-fill-hover: #9a3412;
  --body-text-color-subdued: #4b5563;  /* Gradio's #bbbbc2 is 1.9:1 on white; WCAG asks 4.5:1 */
  --button-cancel-background-fill: #b91c1c;  /* Stop: white on Gradio's #ef4444 is 3.8:1 */
  --button-cancel-background-fill-hover: #991b1b;
}
.dark .gradio-container { --block-info-text-color: #d1d5db; --body-text-color-subdued: #d1d5db; }
.gradio-container .json-node {  /* JSON's editor colours (#ce9178 strings: 2.6:1) are for a dark background */
  --text-color: #9a3412; --string-color: #166534; --number-color: #1e5f74; --bracket-color: #4b5563;
  --square-bracket-color: #9f1239; --punctuation-color: #4b5563; --line-number-color: #4b5563;
}
.dark .gradio-container .json-node {
  --text-color: #d18770; --string-color: #ce9178; --number-color: #719fad; --bracket-color: #5d8585;
  --square-bracket-color: #be6069; --punctuation-color: #8fbcbb; --line-number-color: #9ca3af;
}
#predictions button:focus-visible { outline: 3px solid #c2410c; outline-offset: 2px; }
.block:not(#input-image) > .image-container { padding-top: 2.25rem; }  /* badge and buttons above, not on it */
.thumbnails img { object-fit: contain !important; }  /* a gallery's preview strip shows each map whole, not cropped */
#live-overlay img { width: 100% !important; height: min(60vh, 448px) !important; object-fit: contain !important; }
footer a, footer button { color: #4b5563 !important; }
button[role="tab"][aria-selected="true"], .overflow-menu button { color: #c2410c !important; }
.dark button[role="tab"][aria-selected="true"], .dark .overflow-menu button { color: #fb923c !important; }
.dark footer a, .dark footer button { color: #d1d5db !important; }
@media (max-width: 640px) {
  .tab-body { order: -1; }  /* in a tab: controls and result first, then the text */
  .tab-body:has(.result-column img[src]) > .result-column { order: -1; }  /* a result, once there is one, on top */
  #input-image { max-height: 220px; }
  #samples .gallery { flex-wrap: nowrap; overflow-x: auto; }  /* one row of samples, swiped */
  #samples button.gallery-item { flex: 0 0 auto; }  /* whole thumbnails, not slivers squeezed into the row */
  #samples button.gallery-item img { width: 72px; height: 72px; }
  #intro p { display: none; }
}
"""
