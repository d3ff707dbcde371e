"""Guard the convention: views commit a user action only through directory.web.run_action, and redirect with 303."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

DIRECTORY = Path(__file__).resolve().parents[2] / "directory"
VIEW_MODULES = sorted({*DIRECTORY.glob("*/views.py"), *DIRECTORY.glob("*/admin.py"), *DIRECTORY.glob("*/manage.py"),
                       DIRECTORY / "site.py"})

# (module, function) -> commits allowed there, and why run_action does not fit. Keep it short.
ALLOWED_COMMITS = {
    # A refused sign-in must keep (commit) its failure count and audit event; run_action would roll them back.
    ("accounts/views.py", "sign_in"): 2,
    # GET downloads, not actions: the audit event of who read the data is the only write.
    ("accounts/views.py", "export_data"): 1,
    ("vetting/views.py", "document"): 1,
    ("vetting/views.py", "credential_document"): 1,
    # A GET that records, once per chain head, that admins were alerted to a broken verification chain.
    ("practitioners/views.py", "profile"): 1,
    # A refused edit of another's listing is audited before the 404, like the policy's refusals; no action to run.
    ("practitioners/manage.py", "_refuse_not_yours"): 1,
}
# (module, function) -> redirects allowed a code other than 303, and why. Keep it shorter still.
ALLOWED_REDIRECTS = {
    # A GET, not a form post: a merged listing's address moved for good (308), for links and crawlers alike.
    ("practitioners/views.py", "profile"),
    # A GET, not a form post: the icon browsers ask for at /favicon.ico lives at /static/favicon.svg for good (301).
    ("site.py", "favicon"),
}


def _calls(module: Path) -> list[tuple[str, ast.Call]]:
    """Return each call in a module with the name of the top-level function that makes it."""
    found = []
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [(node.name, call) for call in ast.walk(node) if isinstance(call, ast.Call)]
    return found


def _is_commit(call: ast.Call) -> bool:
    return ast.unparse(call.func) == "db.session.commit"


def test_views_commit_only_through_run_action() -> None:
    commits = Counter((str(module.relative_to(DIRECTORY)), name)
                      for module in VIEW_MODULES for name, call in _calls(module) if _is_commit(call))
    assert dict(commits) == ALLOWED_COMMITS, "run an action with directory.web.run_action, or justify it here"


def test_views_redirect_with_303() -> None:
    plain = [f"{module.relative_to(DIRECTORY)}:{call.lineno}" for module in VIEW_MODULES for name, call in _calls(module)
             if ast.unparse(call.func) == "redirect" and not any(k.arg == "code" and ast.unparse(k.value) == "303"
                                                                 for k in call.keywords)
             and (str(module.relative_to(DIRECTORY)), name) not in ALLOWED_REDIRECTS]
    assert plain == [], "after a form post, redirect with code=303 (See Other)"


def test_the_guard_reads_every_view_module() -> None:
    names = {str(module.relative_to(DIRECTORY)) for module in VIEW_MODULES}
    assert {"accounts/views.py", "accounts/admin.py", "vetting/views.py", "practitioners/manage.py",
            "screening/views.py", "site.py"} <= names
