"""Every `docs/design.md §N` cited in the code, scripts (train.py, eval.py, predict.py, bench/),
tests and README exists in docs/design.md; every test file cited exists; no citation points at a
file outside the repository (the old `DESIGN.md`, a style guide's "STYLE rule N"); the README's
layout names every library file, matched as a whole file name."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITATION = re.compile(r"docs/design\.md ((?:§\d+(?:[-–,]\s*|\s*,\s*|\s+)?)+)")


def sources():
    files = [
        *ROOT.glob("lascar_ref/**/*.py"),
        *ROOT.glob("tests/*.py"),
        *ROOT.glob("bench/*.py"),
        ROOT / "train.py",
        ROOT / "eval.py",
        ROOT / "predict.py",
        ROOT / "README.md",
        *ROOT.glob("docs/*.md"),
    ]
    return [f for f in files if f.is_file() and f.name != Path(__file__).name]


def sections() -> set[int]:
    text = (ROOT / "docs" / "design.md").read_text()
    return {int(n) for n in re.findall(r"^## §(\d+) ", text, flags=re.M)}


def cited() -> dict[int, list[str]]:
    out = {}
    for path in sources():
        for match in CITATION.finditer(path.read_text()):
            numbers = [int(n) for n in re.findall(r"§(\d+)", match.group(1))]
            if re.search(r"§(\d+)[-–]§?(\d+)", match.group(1)):
                a, b = map(int, re.search(r"§(\d+)[-–]§?(\d+)", match.group(1)).groups())
                numbers += list(range(a, b + 1))
            for n in numbers:
                out.setdefault(n, []).append(str(path.relative_to(ROOT)))
    return out


def test_every_cited_section_exists():
    have = sections()
    assert have >= set(range(9)), have
    missing = {n: files for n, files in cited().items() if n not in have}
    assert not missing, f"citations of sections docs/design.md lacks: {missing}"


def test_citations_are_used_and_none_point_outside_the_repository():
    assert len(cited()) >= 8  # the code does cite the notes
    stale = [
        str(p.relative_to(ROOT))
        for p in sources()
        if re.search(r"(?<!docs/design\.md)(?<![\w/])DESIGN\.md", p.read_text())
    ]
    assert not stale, f"citations of DESIGN.md, which is not in the repository: {stale}"
    style = [
        str(p.relative_to(ROOT)) for p in sources() if re.search(r"STYLE( rule)? \d", p.read_text())
    ]
    assert not style, f"citations of a style guide that is not in the repository: {style}"


def test_every_cited_test_file_exists():
    cited_tests = {
        name: str(p.relative_to(ROOT))
        for p in sources()
        for name in re.findall(r"tests/(test_\w+\.py)", p.read_text())
    }
    assert len(cited_tests) >= 20
    missing = {n: where for n, where in cited_tests.items() if not (ROOT / "tests" / n).is_file()}
    assert not missing, f"cited test files that do not exist: {missing}"


def names_file(text: str, name: str) -> bool:
    """`name` appears in `text` as a whole file name (not inside a longer one)."""
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", text) is not None


def test_the_checker_catches_a_missing_section(tmp_path):
    text = "see docs/design.md §2, §42 and docs/design.md §0"
    found = [int(n) for m in CITATION.finditer(text) for n in re.findall(r"§(\d+)", m.group(1))]
    assert found == [2, 42, 0] and 42 not in sections()


def test_readme_layout_names_every_library_file():
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout") :]
    for path in sorted((ROOT / "lascar_ref").rglob("*.py")):
        rel = path.relative_to(ROOT / "lascar_ref")
        if path.name == "__init__.py" or rel.parts[0] == "models":
            continue  # packages; the model files are listed in "The model" section
        assert names_file(layout, path.name), f"README layout does not mention {rel}"
    model_section = text[text.index("## The model") : text.index("## Deviations")]
    for path in sorted((ROOT / "lascar_ref" / "models").glob("*.py")):
        assert path.name == "__init__.py" or names_file(model_section, path.name), path.name
    for name in ("stages.py", "random.py", "trainer.py"):  # files no longer there
        assert not any((ROOT / "lascar_ref").rglob(name)) and not names_file(layout, name)
    assert names_file("fit.py (one stage)", "fit.py") and not names_file("profile_fit.py", "fit.py")
