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


def test_api_reference_lists_every_public_name():
    import sklearn_dshare
    from sklearn_dshare import datasets, evaluation, metrics, preprocessing, views

    text = (DOCS / "api.md").read_text()
    names = [n for n in sklearn_dshare.__all__ if n != "__version__"]
    for module in (datasets, evaluation, metrics, preprocessing, views):
        names += module.__all__
    missing = [
        name for name in names if f"`{name}(" not in text and f"`{name}`" not in text
    ]
    assert not missing, f"docs/api.md lacks {missing}"
