"""Static checks of the app's shape: no pages/ folder, every staff page checks the role first, caches hold
only the library and the clinic factory, nothing reads a patient from the URL."""

from __future__ import annotations

import ast
import re

from .conftest import APP_DIR

PAGES = APP_DIR / "app_pages"
PUBLIC = {"kiosk.py", "login.py"}


def test_no_pages_folder_and_every_page_is_in_the_navigation() -> None:
    assert not (APP_DIR / "pages").exists()
    entry = (APP_DIR / "streamlit_app.py").read_text(encoding="utf-8")
    for page in PAGES.glob("*.py"):
        assert f'page("{page.stem}"' in entry, page.name


def test_every_staff_page_checks_the_role_before_anything_else() -> None:
    for page in PAGES.glob("*.py"):
        if page.name in PUBLIC:
            continue
        tree = ast.parse(page.read_text(encoding="utf-8"))
        body = [node for node in tree.body
                if not isinstance(node, ast.Import | ast.ImportFrom)
                and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # docstring
                and not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant))]  # constants
        first = ast.unparse(body[0])
        assert first.startswith("me = state.require_staff("), (page.name, first)


def test_caches_hold_no_user_data_and_the_url_selects_no_patient() -> None:
    for path in APP_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "resources.py":
            assert "st.cache_" not in text, path
        if path.name != "kiosk.py":
            assert "query_params" not in text, path  # only the kiosk reads its session token from the URL
    resources = (APP_DIR / "ui" / "resources.py").read_text(encoding="utf-8")
    assert re.findall(r"def (\w+)\(", resources) == ["library", "norms", "clinic", "notifier"]
