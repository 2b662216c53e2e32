"""The documentation: it builds with `mkdocs build --strict`, the code it quotes is still in the
files it names, and its runnable examples run."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CUPY_AVAILABLE

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
QUOTE = re.compile(r"^# from (\S+)\n")
GPU_BLOCK = "# on a GPU"  # the first line of a block that needs CuPy and a GPU

# Pages whose python blocks run top to bottom in one namespace, as a reader would paste them.
RUNNABLE_PAGES = [
    "getting-started.md",
    "concepts/tape.md",
    "concepts/bptt.md",
    "concepts/notation.md",
    "concepts/cells.md",
    "concepts/own-cell.md",
]


def python_blocks(page):
    return FENCE.findall((DOCS / page).read_text(encoding="utf-8"))


def quoted_blocks():
    for page in sorted(DOCS.rglob("*.md")):
        for block in FENCE.findall(page.read_text(encoding="utf-8")):
            match = QUOTE.match(block)
            if match:
                yield page.relative_to(DOCS).as_posix(), match.group(1), block[match.end():]


def test_mkdocs_build_strict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # silence mkdocs-material's banner
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8").count("LSTMCell") > 0


def test_quoted_code_is_still_in_its_file():
    quotes = list(quoted_blocks())
    assert len(quotes) >= 10, "the concept pages quote the cells' code; the quotes went missing"
    for page, path, body in quotes:
        source_lines = {line.strip() for line in (ROOT / path).read_text(encoding="utf-8").splitlines()}
        for line in body.splitlines():
            if line.strip() and line.strip() != "...":
                assert line.strip() in source_lines, f"{page} quotes a line that is not in {path}: {line.strip()!r}"


@pytest.mark.parametrize("page", RUNNABLE_PAGES)
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    blocks = [b for b in python_blocks(page) if not QUOTE.match(b)]
    assert blocks, f"{page} has no runnable python block"
    namespace = {"__name__": "__docs__"}
    for block in blocks:
        if block.startswith(GPU_BLOCK) and not CUPY_AVAILABLE:
            # Without a GPU, the example runs on the CPU stand-in for CuPy (tests/conftest.py),
            # which takes the same code paths.
            block = block.replace('"cupy"', '"fake"')
        exec(compile(block, f"{page}", "exec"), namespace)  # noqa: S102 - our own docs
