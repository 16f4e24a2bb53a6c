"""The requirement ids are defined in the repository: every F/R/S id cited in the code, the
tests, infra or the README has a row in README's "Requirements and where they are kept", and
every path and test that table names exists.

Pure: it only reads files.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Requirements and where they are kept"
#: Where "Kept in" paths are that do not start with a top-level folder.
PACKAGE = ROOT / "functions" / "lederappen"
TOP_LEVEL = ("functions/", "infra/", "terraform/", "tests/")

#: The id forms in use: F1-F19, R1-R19, S1-S2 as words. Two digits for F and R, so the next
#: feature or right (F11, R10) is caught too; S stops at S2 so that e.g. "S3" in prose or a
#: ruff code is not mistaken for one. Longer codes (F401, S110, S256) are not words of this form.
ID = re.compile(r"\b(?:F(?:1[0-9]|[1-9])|R(?:1[0-9]|[1-9])|S[12])\b")
#: A noqa comment and what follows it hold ruff rule codes, not requirement ids.
NOQA = re.compile(r"#\s*noqa\b.*$", re.IGNORECASE)
SCANNED = ("functions", "infra", "tests")
SUFFIXES = {".py", ".sql", ".json", ".md", ".txt", ".toml", ".cfg", ".ini", ".sh", ".tf", ".html"}


def _section() -> str:
    readme = (ROOT / "README.md").read_text()
    assert SECTION in readme, f"README.md has no section {SECTION!r}"
    return readme.split(SECTION, 1)[1].split("\n## ", 1)[0]


def _rows() -> dict[str, list[str]]:
    """Id -> the row's cells (promise, kept in, shown by)."""
    rows: dict[str, list[str]] = {}
    for line in _section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and ID.fullmatch(cells[0]):
            assert cells[0] not in rows, f"{cells[0]} is defined twice"
            rows[cells[0]] = cells[1:]
    return rows


def _cited(text: str) -> set[str]:
    return {m for line in text.splitlines() for m in ID.findall(NOQA.sub("", line))}


def _citations() -> dict[str, set[str]]:
    """Id -> the files citing it (this file quotes ids as examples, so it is left out)."""
    files = [ROOT / "README.md"]
    for top in SCANNED:
        files += [
            p
            for p in (ROOT / top).rglob("*")
            if p.is_file() and p.suffix in SUFFIXES and p != Path(__file__).resolve()
        ]
    cited: dict[str, set[str]] = {}
    for path in files:
        for rid in _cited(path.read_text(errors="replace")):
            cited.setdefault(rid, set()).add(str(path.relative_to(ROOT)))
    return cited


def _resolve(ref: str) -> Path:
    return ROOT / ref if ref.startswith(TOP_LEVEL) else PACKAGE / ref


def test_the_scan_sees_ids_and_skips_ruff_codes():
    assert _cited("Access (R1) and erasure (R3, R5), F10 and S2.") == {
        "R1",
        "R3",
        "R5",
        "F10",
        "S2",
    }
    assert _cited("from x import y  # noqa: F401, S1") == set()
    assert _cited("PKCE S256, rule F401, an R10 right") == {"R10"}


def test_every_cited_requirement_id_is_defined_in_the_readme():
    defined = set(_rows())
    missing = {rid: sorted(files)[:3] for rid, files in _citations().items() if rid not in defined}
    assert not missing, f"cited but not defined in README's {SECTION!r}: {missing}"


def test_every_row_says_the_promise_where_it_is_kept_and_what_shows_it():
    rows = _rows()
    assert rows, "the requirements table has no rows"
    for rid, cells in rows.items():
        assert len(cells) == 3 and all(cells), f"{rid}: needs promise, kept in, shown by"
        assert "tests/" in cells[2], f"{rid}: no test shows it"


def test_every_path_and_test_the_table_names_exists():
    absent = []
    for rid, cells in _rows().items():
        for ref in re.findall(r"`([^`]+)`", " ".join(cells[1:])):
            if "/" not in ref:
                continue  # a setting or identifier, not a path
            path, _, test = ref.partition("::")
            file = _resolve(path)
            if not file.exists():
                absent.append(f"{rid}: {path}")
            elif test and not re.search(
                rf"^(?:async )?def {re.escape(test)}\(", file.read_text(), re.MULTILINE
            ):
                absent.append(f"{rid}: {ref}")
    assert not absent, f"README's requirements table names what does not exist: {absent}"
