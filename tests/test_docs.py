"""Every Python code block of the documentation runs, file by file, in order."""

import re
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md") if "```python" in p.read_text())


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_blocks_run(page):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    namespace = {}
    for i, block in enumerate(blocks):
        with warnings.catch_warnings():
            # ConvergenceWarning of the deliberately tiny recipes.
            warnings.simplefilter("ignore", category=UserWarning)
            exec(compile(block, f"{page.name} block {i}", "exec"), namespace)


def test_pages_with_code_are_found():
    names = {p.name for p in PAGES}
    assert {"getting_started.md", "user_guide.md"} <= names
