"""History of an arms race: a list of per-round dicts, sliceable like skorch's."""

import numpy as np

__all__ = ["History"]


class History(list):
    """Per-round records with numpy-like access by round and key.

    ``history[:, "leakage"]`` is the list of leakages over rounds,
    ``history[-1, ("leakage", "valid_auc")]`` the last round's pair, and
    ``history[-1]`` the last round's dict. A key missing from a round raises
    ``KeyError`` naming the keys that exist.

    Examples
    --------
    >>> h = History([{"round": 0, "leakage": 1.0}, {"round": 1, "leakage": 0.5}])
    >>> h[:, "leakage"]
    [1.0, 0.5]
    >>> h[-1, ("round", "leakage")]
    [1, 0.5]
    """

    def __getitem__(self, index):
        if not isinstance(index, tuple):
            return super().__getitem__(index)
        rows, keys = index
        selected = super().__getitem__(rows)

        def pick(entry):
            try:
                if isinstance(keys, (list, tuple)):
                    return [entry[k] for k in keys]
                return entry[keys]
            except KeyError as exc:
                raise KeyError(
                    f"Key {exc.args[0]!r} is not recorded in round "
                    f"{entry.get('round', '?')}; recorded keys: {sorted(entry)}."
                ) from None

        if isinstance(rows, (int, np.integer)):
            return pick(selected)
        return [pick(entry) for entry in selected]
