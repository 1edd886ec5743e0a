"""Documents the code cites are in the repository, and every cited page and section exists.

Code, prompts and tests may cite only ``docs/<page>.md`` (optionally ``#<anchor>``, a heading's GitHub
anchor, or ``docs/<page>.md, "<Heading>"``). Design notes kept outside the repository are invisible to
whoever carries the project on, so naming them (or a bare section sign that points into one), or a path of a
development machine, fails here; so does a ``docs/`` reference, or a link between docs pages, to a page or
section that does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SCANNED_DIRS = ("autocomp", "tests", "benchmarks", "prompts", "problems", "docs", "notebooks", "examples")
SCANNED_FILES = ("README.md", "setup.py", "pyproject.toml")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".ipynb", ".tmpl", ".cfg", ".json"}

# Documents that lived outside the repository, their directory, a section sign (it cited one of them), and an
# absolute path into a development machine's /work tree.
OUTSIDE = re.compile(r"NKI_SPEC|EVALUATION\.md|ARCHITECTURE\.md|STYLE\.md|/work/shared|\.\./shared|\u00a7"
                     r"|(?<![\w./}])/work/[\w.-]+")
# docs/<page>.md, optionally #anchor or , "Heading"; not part of a longer path (other/docs/x.md).
DOCS_REF = re.compile(r'(?<![\w./-])docs/([\w-]+\.md)(?:#([\w-]+)|, "([^"]+)")?')
# Relative markdown links inside docs pages: [text](page.md#anchor), [text](../README.md).
MD_LINK = re.compile(r"\]\(((?:\.\./)?[\w./-]*?\.md)?(?:#([\w-]+))?\)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def headings(markdown: str) -> list[str]:
    """The headings of a markdown text (outside fenced code blocks)."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip())
    return found


def anchors(markdown: str) -> set[str]:
    """Every heading's anchor; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for heading in headings(markdown):
        slug = github_anchor(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def outside_citations(text: str) -> list[str]:
    return [m.group(0) for m in OUTSIDE.finditer(text)]


def broken_docs_refs(text: str, docs_dir: Path) -> list[str]:
    """``docs/`` references in ``text`` naming a missing page, anchor or heading."""
    problems = []
    for m in DOCS_REF.finditer(text):
        page, anchor, heading = m.groups()
        path = docs_dir / page
        if not path.is_file():
            problems.append(f"{m.group(0)}: no page docs/{page}")
            continue
        content = path.read_text()
        if anchor and anchor not in anchors(content):
            problems.append(f"{m.group(0)}: docs/{page} has no section #{anchor}")
        if heading and heading not in headings(content):
            problems.append(f"{m.group(0)}: docs/{page} has no heading {heading!r}")
    return problems


def broken_links(page: Path) -> list[str]:
    """Relative links of a docs page to a missing page or section."""
    problems = []
    text = page.read_text()
    for m in MD_LINK.finditer(text):
        target, anchor = m.groups()
        if target is None and anchor is None or target and "://" in target:
            continue
        path = (page.parent / target).resolve() if target else page
        if not path.is_file():
            problems.append(f"{page.name}: link {m.group(0)[1:]} names a missing file")
        elif anchor and anchor not in anchors(path.read_text()):
            problems.append(f"{page.name}: link {m.group(0)[1:]} names a missing section")
    return problems


def scanned_files() -> list[Path]:
    files = [REPO / name for name in SCANNED_FILES if (REPO / name).is_file()]
    for d in SCANNED_DIRS:
        files += [p for p in sorted((REPO / d).rglob("*")) if p.is_file() and p.suffix in SUFFIXES
                  and "__pycache__" not in p.parts and p != Path(__file__).resolve()]
    return files


def _where(path: Path, text: str, needle: str) -> str:
    line = text[:text.index(needle)].count("\n") + 1 if needle in text else 0
    return f"{path.relative_to(REPO)}:{line}"


def test_nothing_cites_a_document_outside_the_repository():
    found = []
    for path in scanned_files():
        text = path.read_text(errors="replace")
        found += [f"{_where(path, text, hit)}: {hit!r}" for hit in outside_citations(text)]
    assert found == [], "cite docs/<page>.md#<section> instead:\n" + "\n".join(found)


def test_every_docs_reference_names_an_existing_page_and_section():
    found, refs = [], 0
    for path in scanned_files():
        text = path.read_text(errors="replace")
        refs += len(DOCS_REF.findall(text))
        found += [f"{_where(path, text, p.split(':')[0])}: {p}" for p in broken_docs_refs(text, DOCS)]
    assert refs >= 20, f"only {refs} docs/ references found: is DOCS_REF still matching them?"
    assert found == [], "\n".join(found)


def test_links_between_docs_pages_resolve():
    pages = sorted(DOCS.glob("*.md"))
    assert {"README.md", "architecture.md", "evaluation.md", "nki-semantics.md", "cost-model.md"} <= \
        {p.name for p in pages}
    problems = [p for page in pages for p in broken_links(page)]
    assert problems == [], "\n".join(problems)


def test_the_docs_index_lists_every_page_and_the_readme_links_it():
    index = (DOCS / "README.md").read_text()
    missing = [p.name for p in DOCS.glob("*.md") if p.name != "README.md" and f"({p.name})" not in index]
    assert missing == [], f"docs/README.md does not link {missing}"
    assert "(docs/README.md)" in (REPO / "README.md").read_text()


# ---------------------------------------------------------------------------- the checker itself
@pytest.mark.parametrize("text", [
    "see NKI_SPEC \u00a72.4", "(EVALUATION.md)", "/work/shared/ARCHITECTURE.md", "per STYLE.md",
    "tuned against \u00a74.6", "see ../shared/notes", "open('/work/main/x.py')",
])
def test_outside_citations_are_found(text):
    assert outside_citations(text)


@pytest.mark.parametrize("text", ["docs/evaluation.md#correctness", "job_dir / 'work' / 'kernel.py'",
                                  "f'{root}/work/kernel.py'", "tmp/work/x"])
def test_in_repo_citations_and_relative_work_dirs_pass(text):
    assert outside_citations(text) == []


def test_missing_pages_anchors_and_headings_are_found(tmp_path):
    (tmp_path / "page.md").write_text("# Title\n\n## Numerics: dtypes (and rounding)\n\n```\n## not a heading\n```\n")
    assert broken_docs_refs('docs/page.md#numerics-dtypes-and-rounding docs/page.md, "Title"', tmp_path) == []
    found = broken_docs_refs('docs/page.md#not-a-heading docs/none.md docs/page.md, "Numerics"', tmp_path)
    assert [p.split(":")[0] for p in found] == ["docs/page.md#not-a-heading", "docs/none.md",
                                                'docs/page.md, "Numerics"']
    assert broken_docs_refs("elsewhere/docs/none.md", tmp_path) == []  # another project's docs folder


def test_github_anchors_of_repeated_and_punctuated_headings():
    text = "# A\n## Loops\n### Loops\n## Answering (`--model manual`)\n"
    assert anchors(text) == {"a", "loops", "loops-1", "answering---model-manual"}


def test_broken_links_between_pages_are_found(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\n## Here\n\n[ok](#here) [ok](b.md#there) [bad](b.md#gone) [bad](c.md)\n")
    (tmp_path / "b.md").write_text("# B\n\n## There\n")
    assert [p.split("link ")[1].split(" ")[0] for p in broken_links(tmp_path / "a.md")] == ["(b.md#gone)", "(c.md)"]
