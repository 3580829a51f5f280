"""History: a list of per-round dicts, sliceable by round and key."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_dshare.history import History

ROUNDS = [
    {"round": 0, "leakage": 0.9, "valid_auc": 0.80, "seconds": 1.0},
    {"round": 1, "leakage": 0.7, "valid_auc": 0.79, "seconds": 1.5},
    {"round": 2, "leakage": 0.5, "valid_auc": 0.78, "seconds": 2.0},
]


@pytest.fixture
def history():
    return History([dict(entry) for entry in ROUNDS])


def test_is_a_list_of_dicts(history):
    assert isinstance(history, list)
    assert len(history) == 3 and history == ROUNDS
    assert list(history) == ROUNDS
    history.append({"round": 3, "leakage": 0.5})
    assert history[:, "round"] == [0, 1, 2, 3]
    assert History() == [] and History()[:, "leakage"] == []


def test_plain_indexing(history):
    assert history[0] == ROUNDS[0] and isinstance(history[0], dict)
    assert history[-1] == ROUNDS[-1]
    assert history[1:] == ROUNDS[1:]
    assert all(isinstance(entry, dict) for entry in history[1:])
    assert history[::2] == [ROUNDS[0], ROUNDS[2]]
    with pytest.raises(IndexError):
        history[3]  # noqa: B018


def test_column_of_one_key(history):
    assert history[:, "leakage"] == [0.9, 0.7, 0.5]
    assert history[1:, "round"] == [1, 2]
    assert history[:-1, "valid_auc"] == [0.80, 0.79]
    assert history[::-1, "round"] == [2, 1, 0]
    assert history[5:, "leakage"] == []


def test_one_round_one_key(history):
    assert history[-1, "leakage"] == 0.5
    assert history[0, "seconds"] == 1.0
    assert history[np.int64(1), "leakage"] == 0.7


def test_several_keys(history):
    assert history[-1, ("leakage", "valid_auc")] == [0.5, 0.78]
    assert history[0, ["round", "seconds"]] == [0, 1.0]
    assert history[:, ("round", "leakage")] == [[0, 0.9], [1, 0.7], [2, 0.5]]
    assert history[1:, ["leakage"]] == [[0.7], [0.5]]


def test_missing_key_names_the_recorded_keys(history):
    with pytest.raises(KeyError, match="'utility'.*round 1.*recorded keys") as info:
        history[1, "utility"]  # noqa: B018
    message = str(info.value)
    for key in ("leakage", "round", "seconds", "valid_auc"):
        assert key in message
    with pytest.raises(KeyError, match="recorded keys"):
        history[:, "utility"]  # noqa: B018
    with pytest.raises(KeyError, match="'valid_acc'"):
        history[-1, ("leakage", "valid_acc")]  # noqa: B018


def test_key_missing_from_some_rounds_only():
    # Round 0 of a race records no utility when there is no validation data.
    history = History(
        [{"round": 0, "leakage": 1.0}, {"round": 1, "leakage": 0.5, "valid_acc": 0.8}]
    )
    assert history[1:, "valid_acc"] == [0.8]
    expected = r"round 0; recorded keys: \['leakage', 'round'\]"
    with pytest.raises(KeyError, match=expected):
        history[:, "valid_acc"]  # noqa: B018
    # A round without a "round" entry is still reported.
    with pytest.raises(KeyError, match=r"round \?"):
        History([{"leakage": 1.0}])[:, "valid_acc"]  # noqa: B018


keys = st.sampled_from(["round", "leakage", "valid_auc", "seconds"])
values = st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=3))
histories = st.integers(0, 4).flatmap(
    lambda n_keys: st.lists(
        st.fixed_dictionaries({f"k{i}": values for i in range(n_keys)}),
        max_size=8,
    )
)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.dictionaries(keys, values, min_size=4, max_size=4), max_size=8))
def test_column_equals_list_comprehension(entries):
    history = History(entries)
    for key in ("round", "leakage", "valid_auc", "seconds"):
        assert history[:, key] == [entry[key] for entry in history]
        assert history[1:, key] == [entry[key] for entry in entries[1:]]
    for i in range(-len(entries), len(entries)):
        assert history[i, ("leakage", "round")] == [
            entries[i]["leakage"],
            entries[i]["round"],
        ]


@settings(max_examples=30, deadline=None)
@given(histories, st.data())
def test_column_equals_list_comprehension_any_keys(entries, data):
    history = History(entries)
    if not entries or not entries[0]:
        assert history[:] == entries
        return
    key = data.draw(st.sampled_from(sorted(entries[0])))
    start = data.draw(st.integers(-len(entries), len(entries)))
    assert history[:, key] == [e[key] for e in history]
    assert history[start:, key] == [e[key] for e in entries[start:]]
