"""What the page needs beyond Gradio's components: a few lines of CSS and JavaScript, passed to launch().

Each rule fixes a problem seen in the browser (issue 8) that no component option reaches:
- Pressing Enter in a dropdown that takes typed values picks the first entry *containing* the text
  (typing `vgg16` became `vgg16_bn`). Enter now commits what was typed, unless the user moved
  through the list with the arrow keys; leaving the field (blur) is Gradio's own way to commit it.
- Sample-image buttons and thumbnails have no accessible name: they get one from their picture.
- Grey help text fails WCAG contrast; on a phone the result sat ~1,500 px down, below every control.
"""

from __future__ import annotations

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
  new MutationObserver(() => document.querySelectorAll("button.gallery-item, button.thumbnail-item").forEach(name))
    .observe(document.body, {childList: true, subtree: true});
}
""".replace("{typed}", TYPED_DROPDOWNS)

CSS = """
.gradio-container {
  --block-info-text-color: #4b5563;
  --button-primary-background-fill: #c2410c;
  --button-primary-background-fill-hover: #9a3412;
}
.dark .gradio-container { --block-info-text-color: #d1d5db; }
footer a, footer button { color: #4b5563 !important; }
button[role="tab"][aria-selected="true"], .overflow-menu button { color: #c2410c !important; }
.dark button[role="tab"][aria-selected="true"], .dark .overflow-menu button { color: #fb923c !important; }
.dark footer a, .dark footer button { color: #d1d5db !important; }
@media (max-width: 640px) {
  .tab-body, .result-column { order: -1; }  /* in a tab: the result first, then controls, then the text */
  #input-image { max-height: 220px; }
  #samples .gallery { flex-wrap: nowrap; overflow-x: auto; }  /* one row of samples, swiped */
  #intro p { display: none; }
}
"""
