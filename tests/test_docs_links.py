"""Every relative link in README.md and docs/ resolves inside the repository: a fresh clone has no
``../shared/SPEC.md``, so a link outside the repo is a broken link for every user."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repo(doc):
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name} links outside the repo: {target}"
        assert path.exists(), f"{doc.name} links a missing file: {target}"


def test_readme_links_the_language_reference():
    assert "(docs/language.md)" in (ROOT / "README.md").read_text()
