"""What a platform team reads before adopting the broker: the licence, the README and the docs it
links, the changelog and the security policy, all in the repository and all pointing inside it."""

from __future__ import annotations

import re
from pathlib import Path

from testing.harness import REPO

PAGES = [REPO / "README.md", REPO / "CHANGELOG.md", REPO / "SECURITY.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_licence_is_apache_2() -> None:
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_every_relative_link_of_the_readme_and_docs_leads_to_a_file_of_the_repository() -> None:
    for page in PAGES:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # an address outside: only documented standards (semver.org) are linked
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(REPO) and resolved.exists(), f"{page.name}: {target}"


def test_the_readme_starts_with_a_quick_start_and_stays_short() -> None:
    readme = (REPO / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, re.M)
    assert headings[:2] == ["Quick start", "A walk-through with curl and the AWS CLI"]
    assert len(readme.split()) <= 1700
    for needed in ("Python 3.11", "make run", "make test", "jq", "PORT", "LOCAL_AWS_PORT"):
        assert needed in readme
    for page in ("design.md", "aws-calls.md", "local-backend.md", "benchmarks.md", "users.md", "operators.md"):
        assert f"(docs/{page})" in readme


def test_no_page_points_outside_the_repository() -> None:
    for page in PAGES:
        text = page.read_text()
        assert "CONTRACT" not in text and not re.search(r"(?<![\w.])/(work|tmp)/", text), page.name


def test_the_changelog_is_newest_first_with_an_unreleased_heading_on_top() -> None:
    headings = re.findall(r"^## \[([^\]]+)\]", (REPO / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] == "Unreleased"
    released = [tuple(int(part) for part in heading.split(".")) for heading in headings[1:]]
    assert released == sorted(released, reverse=True) and released


def test_security_policy_says_how_to_report_privately() -> None:
    text = (REPO / "SECURITY.md").read_text()
    assert "private security advisory" in text and "## In scope" in text and "## Out of scope" in text


def test_docs_pages_are_linked_from_somewhere() -> None:
    linked = {Path(target).name for page in PAGES for target in LINK.findall(page.read_text())}
    for page in (REPO / "docs").glob("*.md"):
        assert page.name in linked, page.name
