"""The app's tabs, in the order they appear: each is a module with one `build(page) -> TabParts` (app/page.py).
Adding a tab is one new module and one line here; app/ui.py names none of them."""

from __future__ import annotations

from app import compare_tab, evaluate_tab, learn_tab, method_tabs, plugins_tab
from app.page import Tab

# app/live_tab.py is not listed yet: with it the served page did not answer Gradio's start-up check (issue 42).
TABS: tuple[Tab, ...] = (learn_tab, compare_tab, evaluate_tab, method_tabs, plugins_tab)
