"""README.md and docs/ explain the project themselves: their links stay inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)|<(https?://[^>]+)>")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_is_a_file_of_the_repository(page: Path) -> None:
    for match in LINK.finditer(page.read_text()):
        target = (match.group(1) or match.group(2)).split("#")[0]
        assert "://" not in target, f"{page.name} links outside the repository: {target}"
        if target:
            assert (page.parent / target).exists(), f"{page.name} links to a missing file: {target}"
