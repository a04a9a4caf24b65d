"""The app's tabs, in the order they appear: each is a module with one `build(page) -> TabParts` (app/page.py).
Adding a tab is one new module and one line here; app/ui.py names none of them."""

from __future__ import annotations

from app import audit_tab, compare_tab, evaluate_tab, learn_tab, live_tab, method_tabs, plugins_tab
from app.page import Tab

TABS: tuple[Tab, ...] = (learn_tab, compare_tab, evaluate_tab, audit_tab, live_tab, method_tabs, plugins_tab)
