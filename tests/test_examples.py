"""Every gallery example runs, in its small CI mode, and saves its figure."""

import runpy
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


def test_examples_are_found():
    assert len(EXAMPLES) >= 4


# The small settings train races too short to hide the property.
@pytest.mark.filterwarnings("ignore::sklearn_dshare.PrivacyLeakWarning")
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_saves_its_figure(path, tmp_path, monkeypatch):
    monkeypatch.setenv("SKLEARN_DSHARE_EXAMPLE_SMALL", "1")
    monkeypatch.setenv("SKLEARN_DSHARE_EXAMPLE_OUT", str(tmp_path))
    # Run from elsewhere: the figure must go to the output directory.
    monkeypatch.chdir(tmp_path)
    try:
        # As a script: classes the example defines must pickle from __main__.
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    figure = tmp_path / f"{path.stem}.png"
    assert figure.is_file()
    assert figure.stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == [figure.name]
