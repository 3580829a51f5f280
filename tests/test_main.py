"""The command line: demo and audit, and their errors."""

import pickle
import re

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_dshare.__main__ import main, parse_property
from sklearn_dshare.datasets import make_credit_portfolio
from sklearn_dshare.properties import FeatureMean, FeatureRate, LabelRate

TINY_DEMO = [
    "--targets",
    "1",
    "--portfolio-size",
    "800",
    "--shadows",
    "8",
    "--rounds",
    "1",
    "--epochs",
    "3",
]


def test_demo_prints_the_table_and_saves_the_figure(capsys, tmp_path):
    out = tmp_path / "demo.png"
    assert main(["demo", *TINY_DEMO, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "150,000 borrowers" in text
    assert "default rate 6.68%" in text
    rows = re.findall(
        r"^\| (undefended|defended) \| (classic|responsive) black-box "
        r"\| ([01]\.\d\d) \| \[",
        text,
        flags=re.M,
    )
    assert [(t, a) for t, a, _ in rows] == [
        ("undefended", "classic"),
        ("defended", "classic"),
        ("defended", "responsive"),
    ]
    assert out.stat().st_size > 1000


def test_demo_accepts_white_box(capsys, tmp_path):
    assert (
        main(
            [
                "demo",
                *TINY_DEMO,
                "--access",
                "white-box",
                "--out",
                str(tmp_path / "w.png"),
            ]
        )
        == 0
    )
    assert "responsive white-box" in capsys.readouterr().out


def _csv(tmp_path, X, y):
    path = tmp_path / "aux.csv"
    header = ",".join(f"f{i}" for i in range(X.shape[1])) + ",label"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    return path


def test_audit_reads_a_pickled_pipeline(capsys, tmp_path):
    X, y = make_credit_portfolio(3000, default_rate=0.3, random_state=0)
    prop = LabelRate(bins=[(0.1, 0.2), (0.4, 0.5)])
    X_t, y_t = prop.resample(X[:1000], y[:1000], 1, 300, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_t, y_t)
    model_path = tmp_path / "model.pkl"
    model_path.write_bytes(pickle.dumps(model))
    data = _csv(tmp_path, X[1000:], y[1000:])
    code = main(
        [
            "audit",
            str(model_path),
            "--data",
            str(data),
            "--property",
            "label-rate:0.1-0.2,0.4-0.5",
            "--shadow-size",
            "300",
            "--shadows",
            "16",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    guesses = re.findall(
        r"^\| (black-box meta-classifier|mean output threshold) "
        r"\| (\d) ",
        text,
        flags=re.M,
    )
    assert dict(guesses) == {
        "black-box meta-classifier": "1",
        "mean output threshold": "1",
    }


@pytest.mark.parametrize(
    "problem, argv, message",
    [
        (
            "missing model",
            [
                "audit",
                "nope.pkl",
                "--data",
                "credit-data",
                "--property",
                "label-rate:0.1-0.2,0.4-0.5",
            ],
            "no model file",
        ),
        (
            "bad property",
            ["audit", "MODEL", "--data", "DATA", "--property", "label-rate:low-high"],
            "cannot read the bins",
        ),
        (
            "unknown kind",
            [
                "audit",
                "MODEL",
                "--data",
                "DATA",
                "--property",
                "entropy:0.1-0.2,0.3-0.4",
            ],
            "cannot read the property",
        ),
        (
            "missing data",
            [
                "audit",
                "MODEL",
                "--data",
                "nope.csv",
                "--property",
                "label-rate:0.1-0.2,0.4-0.5",
            ],
            "no data file",
        ),
        (
            "unsupported model",
            [
                "audit",
                "FOREST",
                "--data",
                "DATA",
                "--property",
                "label-rate:0.1-0.2,0.4-0.5",
            ],
            "Supported base estimators",
        ),
        (
            "unreachable bins",
            [
                "audit",
                "MODEL",
                "--data",
                "DATA",
                "--shadow-size",
                "300",
                "--property",
                "label-rate:0.9-0.95,0.96-0.99",
            ],
            "cannot provide shadow datasets",
        ),
    ],
)
def test_audit_errors_are_clear(capsys, tmp_path, problem, argv, message):
    X, y = make_credit_portfolio(600, default_rate=0.3, random_state=0)
    (tmp_path / "model.pkl").write_bytes(
        pickle.dumps(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y))
    )
    (tmp_path / "forest.pkl").write_bytes(
        pickle.dumps(RandomForestClassifier(n_estimators=2).fit(X, y))
    )
    data = _csv(tmp_path, X, y)
    swap = {
        "MODEL": str(tmp_path / "model.pkl"),
        "FOREST": str(tmp_path / "forest.pkl"),
        "DATA": str(data),
    }
    assert main([swap.get(a, a) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_parse_property_kinds():
    assert parse_property("label-rate:0.1-0.2,0.3-0.4").intervals == [
        (0.1, 0.2),
        (0.3, 0.4),
    ]
    mean = parse_property("feature-mean:3:30-40,50-60")
    assert isinstance(mean, FeatureMean) and mean.column == 3
    rate = parse_property("feature-rate:region=1:0.1-0.3,0.6-0.9")
    assert isinstance(rate, FeatureRate) and (rate.column, rate.category) == (
        "region",
        1,
    )
