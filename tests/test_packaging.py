"""The repository's promises: README commands, CI entry point, public names."""

import re
import warnings
from pathlib import Path

import pytest
from sklearn.neural_network import MLPClassifier

import sklearn_dshare
from sklearn_dshare.defense import PrivacyLeakWarning

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
    readme_commands = [
        line.strip()
        for block in _bash_blocks((ROOT / "README.md").read_text())
        for line in block.splitlines()
    ]
    test_command = next(c for c in readme_commands if "pytest" in c)
    ci_lines = [
        line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
    ]
    assert test_command in ci_lines
    # torch comes first, from the CPU build, before the project resolves it.
    assert test_command.startswith("pip install torch==2.13.0 && ")


def test_readme_quickstart_has_exactly_two_commands():
    blocks = _bash_blocks(
        (ROOT / "README.md").read_text().split("## Quickstart")[1].split("\n## ")[0]
    )
    commands = [line for block in blocks for line in block.splitlines() if line]
    assert len(commands) == 2
    assert "python -m sklearn_dshare demo" in commands[0]
    assert "pytest" in commands[1]


def test_readme_python_example_runs():
    block = re.findall(
        r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S
    )[0]
    namespace = {}
    with warnings.catch_warnings():
        # A 3-round toy race may still leak; the example says nothing of it.
        warnings.simplefilter("ignore", PrivacyLeakWarning)
        exec(compile(block, "README.md", "exec"), namespace)
    assert type(namespace["shared"]) is MLPClassifier
    assert len(namespace["leakage"]) == 4  # round 0 and three defended rounds
    assert namespace["guess"].shape == (1,)


@pytest.mark.parametrize("name", sklearn_dshare.__all__)
def test_public_names_are_documented(name):
    obj = getattr(sklearn_dshare, name)
    if name != "__version__":
        assert obj.__doc__ and len(obj.__doc__.strip()) > 20


def test_main_requires_a_command(capsys):
    from sklearn_dshare.__main__ import main

    with pytest.raises(SystemExit) as excinfo:
        main([])
    assert excinfo.value.code == 2
