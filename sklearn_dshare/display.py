"""Plots of leakage and utility, as scikit-learn style ``Display`` objects.

Each display holds computed numbers only; ``plot(ax=None)`` draws them with
matplotlib (imported lazily, ``pip install "sklearn-dshare[plot]"``) and
stores the artists: ``ax_``, ``figure_``, ``lines_``. A classmethod builds a
display from what the library produces and plots it at once:

- :class:`ArmsRaceDisplay.from_estimator`: leakage and utility per round of
  a fitted :class:`~sklearn_dshare.CPIRobustClassifier`.
- :class:`PrivacyUtilityDisplay.from_cv_results`: the privacy-utility
  trade-off over ``defense_strength`` in a ``GridSearchCV``.
- :class:`LeakageDisplay.from_report`: attacks side by side, from
  :func:`~sklearn_dshare.metrics.attack_report`.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "ArmsRaceDisplay",
    "LeakageDisplay",
    "PrivacyUtilityDisplay",
    "pareto_front",
]

_UTILITY_LABELS = {
    "valid_auc": "validation AUC",
    "valid_acc": "validation accuracy",
    "valid_log_loss": "validation log loss",
}
# The smallest span of the utility axis (see _utility_limits).
_MIN_UTILITY_SPAN = 0.1


def _pyplot(caller):
    """Import ``matplotlib.pyplot``, or say which extra installs it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed; install it "
            'with: pip install "sklearn-dshare[plot]"'
        ) from exc
    return plt


def _axes(ax, caller, figsize=None):
    plt = _pyplot(caller)
    if ax is None:
        # Constrained layout keeps labels and outside legends in the figure.
        _, ax = plt.subplots(layout="constrained", figsize=figsize)
    return ax


def _merge(defaults, user):
    """Default style keywords updated by the user's (``None`` means none)."""
    return {**defaults, **(user or {})}


def _as_1d(values, name):
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {array.shape}.")
    return array


def _check_lengths(**arrays):
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise ValueError(f"The arrays must have one entry each, got lengths {shown}.")


def _defended_estimator(estimator):
    """The fitted CPIRobustClassifier itself, or a pipeline's last step."""
    from .defense import CPIRobustClassifier

    inner = estimator
    if hasattr(inner, "steps"):
        inner = inner.steps[-1][1]
    if not isinstance(inner, CPIRobustClassifier):
        raise TypeError(
            f"Expected a CPIRobustClassifier or a Pipeline ending in one, got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(inner, "history_")
    return inner


def _utility_limits(values):
    """Limits that put ``values`` in the top third of the utility axis.

    The leakage curves settle around chance, mid-height; the utility band
    above them keeps the two from being read against the wrong axis. The
    axis spans at least ``_MIN_UTILITY_SPAN``, so that round-to-round noise
    of a few thousandths does not look like a collapse.
    """
    low, high = float(values.min()), float(values.max())
    span = max(_MIN_UTILITY_SPAN, (high - low) / 0.3)
    bottom = low - 0.62 * span
    return bottom, bottom + span


# -- the arms race --------------------------------------------------------------
class ArmsRaceDisplay:
    """Leakage and utility of the defended target, round by round.

    Round 0 is the undefended model; every later round is one attack step
    (the leakage recorded) and one defense step. Leakage is the held-out
    accuracy of the simulated attacker's meta-classifier, with its AUC next
    to it: an accuracy far *below* chance is leakage too (the bins read with
    their labels flipped), which the AUC shows as a distance from 0.5.

    The utility, on its own y-axis to the right, is drawn in the top third of
    the plot, above the chance line where a defended model's leakage
    settles; the legend sits below the axes.

    It is recommended to build the display with :meth:`from_estimator`.

    Parameters
    ----------
    rounds : array-like of shape (n_rounds,)
        Round numbers, 0 for the undefended model.
    leakage : array-like of shape (n_rounds,)
        Held-out accuracy of the simulated attacker per round.
    leakage_auc : array-like of shape (n_rounds,)
        Its AUC per round (NaN where undefined).
    chance : float
        Accuracy of a blind guess, ``1 / n_bins``.
    utility : array-like of shape (n_rounds,), default=None
        The target's validation score per round, drawn on a second y-axis;
        None draws no utility.
    utility_name : str, default="valid_auc"
        The history key ``utility`` comes from, used to label its axis.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the leakage curves.
    ax_utility_ : matplotlib Axes or None
        The twin axes of the utility curve; None without utility.
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        ``"leakage"``, ``"leakage_auc"``, ``"chance"``, plus ``"auc_chance"``
        (the AUC's chance level 0.5, drawn when it differs from ``chance``)
        and ``"utility"`` when drawn.
    legend_ : matplotlib Legend

    See Also
    --------
    PrivacyUtilityDisplay : Leakage against utility over defense strengths.
    LeakageDisplay : Attacks on shared models side by side.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_dshare.display import ArmsRaceDisplay
    >>> display = ArmsRaceDisplay(
    ...     rounds=[0, 1, 2], leakage=[1.0, 0.6, 0.52], leakage_auc=[1.0, 0.65, 0.5],
    ...     chance=0.5, utility=[0.80, 0.79, 0.79])
    >>> display = display.plot()
    >>> display.lines_["leakage"].get_ydata().tolist()
    [1.0, 0.6, 0.52]

    From a fitted defense (or a pipeline ending in one):

    >>> ArmsRaceDisplay.from_estimator(clf)  # doctest: +SKIP
    """

    def __init__(
        self,
        rounds,
        leakage,
        leakage_auc,
        chance,
        utility=None,
        utility_name="valid_auc",
    ):
        self.rounds = rounds
        self.leakage = leakage
        self.leakage_auc = leakage_auc
        self.chance = chance
        self.utility = utility
        self.utility_name = utility_name

    def plot(
        self,
        ax=None,
        *,
        leakage_kw=None,
        auc_kw=None,
        chance_kw=None,
        utility_kw=None,
    ):
        """Draw leakage, leakage AUC, chance and utility against the round.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None creates a new figure.
        leakage_kw, auc_kw, chance_kw, utility_kw : dict, default=None
            Keywords passed to ``ax.plot`` (``ax.axhline`` for the chance
            line), overriding the defaults.

        Returns
        -------
        display : ArmsRaceDisplay
        """
        ax = _axes(ax, "ArmsRaceDisplay.plot")
        from matplotlib.ticker import MaxNLocator

        rounds = _as_1d(self.rounds, "rounds")
        leakage = _as_1d(self.leakage, "leakage")
        auc = _as_1d(self.leakage_auc, "leakage_auc")
        utility = None if self.utility is None else _as_1d(self.utility, "utility")
        _check_lengths(rounds=rounds, leakage=leakage, leakage_auc=auc, utility=utility)
        chance = float(self.chance)

        self.lines_ = {}
        (self.lines_["leakage"],) = ax.plot(
            rounds,
            leakage,
            **_merge(
                {"marker": "o", "color": "C3", "label": "leakage (attack accuracy)"},
                leakage_kw,
            ),
        )
        (self.lines_["leakage_auc"],) = ax.plot(
            rounds,
            auc,
            **_merge(
                {"marker": "s", "color": "C1", "alpha": 0.8, "label": "leakage AUC"},
                auc_kw,
            ),
        )
        self.lines_["chance"] = ax.axhline(
            chance,
            **_merge(
                {"linestyle": "--", "color": "0.4", "label": f"chance ({chance:.2f})"},
                chance_kw,
            ),
        )
        if not np.isclose(chance, 0.5):
            self.lines_["auc_chance"] = ax.axhline(
                0.5, linestyle=":", color="0.4", label="chance AUC (0.50)"
            )
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("round (0 = undefended)")
        ax.set_ylabel("held-out leakage (attack accuracy, AUC)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

        self.ax_utility_ = None
        if utility is not None:
            self.ax_utility_ = ax.twinx()
            label = _UTILITY_LABELS.get(self.utility_name, self.utility_name)
            (self.lines_["utility"],) = self.ax_utility_.plot(
                rounds,
                utility,
                **_merge({"marker": "^", "color": "C0", "label": label}, utility_kw),
            )
            finite = utility[np.isfinite(utility)]
            if finite.size:
                self.ax_utility_.set_ylim(_utility_limits(finite))
            color = self.lines_["utility"].get_color()
            self.ax_utility_.set_ylabel(label, color=color)
            self.ax_utility_.tick_params(axis="y", colors=color)

        # Below the axes: inside, it would hide one of the two y-axes' curves.
        self.legend_ = ax.legend(
            handles=list(self.lines_.values()),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=2,
            fontsize="small",
            frameon=False,
        )
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, utility="valid_auc", ax=None, **kwargs):
        """Plot the arms race of a fitted :class:`~sklearn_dshare.CPIRobustClassifier`.

        Parameters
        ----------
        estimator : CPIRobustClassifier or Pipeline
            Fitted; a pipeline's last step must be the defense.
        utility : str or None, default="valid_auc"
            The ``history_`` key drawn as utility (``"valid_auc"``,
            ``"valid_acc"``, ``"valid_log_loss"``); None draws none.
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : ArmsRaceDisplay

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the defense is not fitted.
        ValueError
            If ``history_`` lacks a key the plot needs.
        """
        clf = _defended_estimator(estimator)
        history = clf.history_
        keys = ["round", "leakage", "leakage_auc"]
        if utility is not None:
            keys.append(utility)
        for entry in history:
            missing = [k for k in keys if k not in entry]
            if missing:
                hint = (
                    f" The utility {utility!r} is recorded only with "
                    "validation_fraction > 0 (valid_auc for binary targets); "
                    "pass utility=None to plot leakage alone."
                    if utility in missing
                    else ""
                )
                raise ValueError(
                    f"ArmsRaceDisplay needs the history keys {keys}, but round "
                    f"{entry.get('round', '?')} records only {sorted(entry)}." + hint
                )
        display = cls(
            rounds=np.asarray(history[:, "round"]),
            leakage=np.asarray(history[:, "leakage"], dtype=float),
            leakage_auc=np.asarray(history[:, "leakage_auc"], dtype=float),
            chance=1.0 / clf.confidential_property.n_bins,
            utility=(
                None
                if utility is None
                else np.asarray(history[:, utility], dtype=float)
            ),
            utility_name=utility,
        )
        return display.plot(ax=ax, **kwargs)


# -- privacy against utility --------------------------------------------------------
def pareto_front(leakage, utility):
    """Which candidates no other beats on both leakage and utility.

    A candidate is on the front unless another has leakage at most its own
    and utility at least its own, one of them strictly. Candidates with a
    NaN are never on it.

    Parameters
    ----------
    leakage : array-like of shape (n_candidates,)
        Lower is better.
    utility : array-like of shape (n_candidates,)
        Higher is better.

    Returns
    -------
    on_front : ndarray of bool of shape (n_candidates,)

    Examples
    --------
    >>> from sklearn_dshare.display import pareto_front
    >>> pareto_front([0.5, 0.2, 0.0, 0.3], [0.95, 0.93, 0.90, 0.92]).tolist()
    [True, True, True, False]
    """
    leakage = _as_1d(leakage, "leakage")
    utility = _as_1d(utility, "utility")
    _check_lengths(leakage=leakage, utility=utility)
    finite = np.isfinite(leakage) & np.isfinite(utility)
    on_front = finite.copy()
    for i in np.flatnonzero(finite):
        others = finite & (leakage <= leakage[i]) & (utility >= utility[i])
        strictly = (leakage < leakage[i]) | (utility > utility[i])
        if np.any(others & strictly):
            on_front[i] = False
    return on_front


def _param_column(cv_results, param):
    """The ``param_...`` key of ``cv_results`` that holds ``param``."""
    columns = [k for k in cv_results if k.startswith("param_")]
    if param.startswith("param_"):
        matches = [param] if param in columns else []
    elif f"param_{param}" in columns:
        matches = [f"param_{param}"]
    else:
        matches = [k for k in columns if k.endswith(f"__{param}")]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(
            f"cv_results has no parameter column for {param!r}; its parameter "
            f"columns are {columns}. Pass param= one of them."
        )
    raise ValueError(
        f"Several parameter columns end with {param!r}: {matches}; pass the full "
        "name as param=."
    )


def _float_column(values, name):
    """A cv_results column as floats, masked (unset) entries as NaN."""
    if np.ma.isMaskedArray(values):
        values = np.ma.filled(values.astype(object), np.nan)
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"cv_results[{name!r}] must hold numbers.") from None


class PrivacyUtilityDisplay:
    """The privacy-utility trade-off over defense strengths.

    Each candidate of a search is a point: its leakage gap (how far the
    simulated attacker is from guessing, lower is more private) on the x-axis, its
    utility on the y-axis, labeled with its ``defense_strength``. The Pareto
    front (no other candidate leaks less *and* scores higher) is drawn as a
    line. Good candidates lie toward the top left.

    It is recommended to build the display with :meth:`from_cv_results`.

    Parameters
    ----------
    strengths : array-like of shape (n_candidates,)
        ``defense_strength`` of each candidate.
    leakage : array-like of shape (n_candidates,)
        Mean held-out leakage gap, :func:`~sklearn_dshare.metrics.leakage_gap`:
        minus the score of :func:`~sklearn_dshare.metrics.make_leakage_scorer`.
    utility : array-like of shape (n_candidates,)
        Mean test utility (accuracy, AUC, ...).
    chance : float or None
        Accuracy of a blind guess, shown in the axis label when known.
    pareto : array-like of bool of shape (n_candidates,)
        Whether each candidate is on the Pareto front (:func:`pareto_front`).
    utility_name : str, default="accuracy"
        Label of the y-axis.
    leakage_std, utility_std : array-like of shape (n_candidates,), default=None
        Standard deviations over folds, drawn as error bars.
    best_index : int, default=None
        The candidate a search refitted (``best_index_``), circled.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib Line2D
        ``"candidates"`` (all points), ``"pareto"`` (the front), ``"chance"``
        (attacker at chance, x = 0) and ``"best"`` when ``best_index``
        is set.
    errorbar_ : matplotlib ErrorbarContainer or None
        The error bars, when standard deviations are given.
    texts_ : list of matplotlib Text
        One strength label per candidate.
    legend_ : matplotlib Legend

    See Also
    --------
    sklearn_dshare.metrics.make_leakage_scorer : The privacy scorer.
    sklearn_dshare.metrics.most_private_within : A refit rule for the search.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn_dshare.display import PrivacyUtilityDisplay
    >>> cv_results = {
    ...     "param_defense_strength": np.ma.array([0, 1, 4], dtype=object),
    ...     "mean_test_privacy": np.array([-0.5, -0.1, -0.05]),
    ...     "mean_test_accuracy": np.array([0.94, 0.94, 0.90]),
    ... }
    >>> display = PrivacyUtilityDisplay.from_cv_results(cv_results, chance=0.5)
    >>> display.leakage.tolist(), display.pareto.tolist()
    ([0.5, 0.1, 0.05], [False, True, True])
    """

    def __init__(
        self,
        strengths,
        leakage,
        utility,
        chance,
        pareto,
        *,
        utility_name="accuracy",
        leakage_std=None,
        utility_std=None,
        best_index=None,
    ):
        self.strengths = strengths
        self.leakage = leakage
        self.utility = utility
        self.chance = chance
        self.pareto = pareto
        self.utility_name = utility_name
        self.leakage_std = leakage_std
        self.utility_std = utility_std
        self.best_index = best_index

    def plot(self, ax=None, *, scatter_kw=None, pareto_kw=None, annotate=True):
        """Draw the candidates, their strengths and the Pareto front.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None creates a new figure.
        scatter_kw : dict, default=None
            Keywords for ``ax.plot`` of the candidates.
        pareto_kw : dict, default=None
            Keywords for ``ax.plot`` of the front.
        annotate : bool, default=True
            Label every point with its strength.

        Returns
        -------
        display : PrivacyUtilityDisplay
        """
        ax = _axes(ax, "PrivacyUtilityDisplay.plot")
        strengths = _as_1d(self.strengths, "strengths")
        leakage = _as_1d(self.leakage, "leakage")
        utility = _as_1d(self.utility, "utility")
        pareto = np.asarray(self.pareto, dtype=bool)
        _check_lengths(
            strengths=strengths, leakage=leakage, utility=utility, pareto=pareto
        )

        self.lines_ = {}
        self.errorbar_ = None
        if self.leakage_std is not None or self.utility_std is not None:
            self.errorbar_ = ax.errorbar(
                leakage,
                utility,
                xerr=self.leakage_std,
                yerr=self.utility_std,
                fmt="none",
                ecolor="0.6",
                elinewidth=1,
                capsize=2,
            )
        (self.lines_["candidates"],) = ax.plot(
            leakage,
            utility,
            **_merge(
                {
                    "linestyle": "none",
                    "marker": "o",
                    "color": "0.45",
                    "label": "candidates",
                },
                scatter_kw,
            ),
        )
        front = np.flatnonzero(pareto)
        front = front[np.argsort(leakage[front], kind="stable")]
        (self.lines_["pareto"],) = ax.plot(
            leakage[front],
            utility[front],
            **_merge(
                {
                    "marker": "D",
                    "markersize": 8,
                    "color": "C2",
                    "linewidth": 2,
                    "label": "Pareto front",
                },
                pareto_kw,
            ),
        )
        self.lines_["chance"] = ax.axvline(
            0.0, linestyle="--", color="0.4", label="attacker at chance"
        )
        if self.best_index is not None:
            i = int(self.best_index)
            (self.lines_["best"],) = ax.plot(
                [leakage[i]],
                [utility[i]],
                linestyle="none",
                marker="o",
                markersize=16,
                markerfacecolor="none",
                markeredgecolor="C3",
                markeredgewidth=2,
                label="refitted",
            )

        self.texts_ = []
        if annotate:
            for s, x, y in zip(strengths, leakage, utility):
                if np.isfinite(x) and np.isfinite(y):
                    self.texts_.append(
                        ax.annotate(
                            f"{s:g}",
                            (x, y),
                            xytext=(6, 6),
                            textcoords="offset points",
                            fontsize="small",
                        )
                    )

        chance = "" if self.chance is None else f"{float(self.chance):.2f}, "
        ax.set_xlabel(f"held-out leakage gap ({chance}less is more private)")
        ax.set_ylabel(f"mean test {self.utility_name}")
        self.legend_ = ax.legend(loc="best", fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_cv_results(
        cls,
        cv_results,
        *,
        param="defense_strength",
        privacy="privacy",
        utility="accuracy",
        chance=None,
        best_index=None,
        ax=None,
        **kwargs,
    ):
        """Plot a search over ``defense_strength`` from its ``cv_results_``.

        Parameters
        ----------
        cv_results : dict
            ``GridSearchCV.cv_results_`` of a search scored with
            ``make_leakage_scorer()`` (under the name ``privacy``) and a
            utility scorer (under the name ``utility``).
        param : str, default="defense_strength"
            The strength's parameter: a full column name
            (``"param_cpirobustclassifier__defense_strength"``), a parameter
            name, or the ending of one.
        privacy, utility : str
            Names of the two scorers in ``scoring``.
        chance : float, default=None
            ``1 / n_bins``, shown in the axis label.
        best_index : int, default=None
            The refitted candidate (``search.best_index_``) to circle.
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : PrivacyUtilityDisplay

        Raises
        ------
        ValueError
            If a needed column is missing from ``cv_results``.
        """
        column = _param_column(cv_results, param)
        needed = [f"mean_test_{privacy}", f"mean_test_{utility}"]
        missing = [k for k in needed if k not in cv_results]
        if missing:
            scores = sorted(k for k in cv_results if k.startswith("mean_test_"))
            raise ValueError(
                f"cv_results lacks {missing}; PrivacyUtilityDisplay needs the "
                f"mean test scores of the privacy scorer (make_leakage_scorer) "
                f"and of a utility scorer, named by privacy= and utility=. "
                f"Available: {scores}."
            )
        # The scorer is minus the leakage gap: its negation is the gap.
        leakage = -_float_column(cv_results[needed[0]], needed[0])
        score = _float_column(cv_results[needed[1]], needed[1])

        def std(name):
            key = f"std_test_{name}"
            return _float_column(cv_results[key], key) if key in cv_results else None

        display = cls(
            strengths=_float_column(cv_results[column], column),
            leakage=leakage,
            utility=score,
            chance=chance,
            pareto=pareto_front(leakage, score),
            utility_name=utility,
            leakage_std=std(privacy),
            utility_std=std(utility),
            best_index=best_index,
        )
        return display.plot(ax=ax, **kwargs)


# -- attacks side by side ------------------------------------------------------------
_REPORT_KEYS = ("accuracy", "ci_low", "ci_high", "chance")


class LeakageDisplay:
    """Accuracy of attacks on shared models, with Wilson intervals.

    One row per attack: its accuracy as a point with the 95% Wilson interval
    as an error bar, against the chance level (a vertical dashed line, or a
    short one per row when the attacks face different chance levels). An
    interval that straddles chance means the attack was not shown to read
    the property.

    It is recommended to build the display with :meth:`from_report`.

    Parameters
    ----------
    names : list of str of shape (n_attacks,)
    accuracy, ci_low, ci_high : array-like of shape (n_attacks,)
        As returned by :func:`~sklearn_dshare.metrics.attack_report`.
    chance : float or array-like of shape (n_attacks,)
        Accuracy of always guessing the most common bin.
    auc : array-like of shape (n_attacks,), default=None
        Written next to each point when given.
    n_models : array-like of int of shape (n_attacks,), default=None
        Targets per attack, written next to each point when given.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict of str to matplotlib artist
        ``"chance"``: the chance line (a Line2D, or a LineCollection of one
        segment per row when chance levels differ).
    errorbar_ : matplotlib ErrorbarContainer
        Points and intervals.
    texts_ : list of matplotlib Text
        The AUC and target-count labels.

    See Also
    --------
    sklearn_dshare.metrics.attack_report : Computes each row.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_dshare.display import LeakageDisplay
    >>> reports = {
    ...     "classic": {"accuracy": 0.95, "ci_low": 0.76, "ci_high": 0.99,
    ...                 "chance": 0.5, "auc": 0.99, "n_models": 20},
    ...     "responsive": {"accuracy": 0.6, "ci_low": 0.39, "ci_high": 0.78,
    ...                    "chance": 0.5, "auc": 0.62, "n_models": 20},
    ... }
    >>> display = LeakageDisplay.from_report(reports)
    >>> display.names, display.accuracy.tolist()
    (['classic', 'responsive'], [0.95, 0.6])
    """

    def __init__(
        self, names, accuracy, ci_low, ci_high, chance, *, auc=None, n_models=None
    ):
        self.names = names
        self.accuracy = accuracy
        self.ci_low = ci_low
        self.ci_high = ci_high
        self.chance = chance
        self.auc = auc
        self.n_models = n_models

    def plot(self, ax=None, *, errorbar_kw=None, chance_kw=None):
        """Draw one point with its interval per attack, and the chance level.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None creates a new figure.
        errorbar_kw : dict, default=None
            Keywords for ``ax.errorbar``.
        chance_kw : dict, default=None
            Keywords for the chance line.

        Returns
        -------
        display : LeakageDisplay
        """
        names = [str(n) for n in self.names]
        # Wide enough for long attack names, one row per attack.
        ax = _axes(ax, "LeakageDisplay.plot", figsize=(8, 1.5 + 0.6 * len(names)))
        accuracy = _as_1d(self.accuracy, "accuracy")
        low = _as_1d(self.ci_low, "ci_low")
        high = _as_1d(self.ci_high, "ci_high")
        chance = np.broadcast_to(np.asarray(self.chance, dtype=float), accuracy.shape)
        auc = None if self.auc is None else _as_1d(self.auc, "auc")
        _check_lengths(
            names=names, accuracy=accuracy, ci_low=low, ci_high=high, auc=auc
        )
        # Top to bottom in the order given.
        y = np.arange(len(names))[::-1]

        self.errorbar_ = ax.errorbar(
            accuracy,
            y,
            xerr=np.vstack([accuracy - low, high - accuracy]),
            **_merge(
                {
                    "fmt": "o",
                    "color": "C3",
                    "ecolor": "C3",
                    "capsize": 4,
                    "markersize": 7,
                    "label": "accuracy, 95% Wilson interval",
                },
                errorbar_kw,
            ),
        )
        self.lines_ = {}
        style = _merge(
            {"linestyle": "--", "color": "0.4", "label": "chance"}, chance_kw
        )
        if np.allclose(chance, chance[0]):
            style["label"] = f"{style['label']} ({chance[0]:.2f})"
            self.lines_["chance"] = ax.axvline(chance[0], **style)
        else:
            linestyle = style.pop("linestyle")
            self.lines_["chance"] = ax.vlines(
                chance, y - 0.4, y + 0.4, linestyles=linestyle, **style
            )

        self.texts_ = []
        for i, row in enumerate(y):
            parts = []
            if auc is not None and np.isfinite(auc[i]):
                parts.append(f"AUC {auc[i]:.2f}")
            if self.n_models is not None:
                parts.append(f"n={int(np.asarray(self.n_models)[i])}")
            if parts:
                self.texts_.append(
                    ax.annotate(
                        ", ".join(parts),
                        (accuracy[i], row),
                        xytext=(0, 8),
                        textcoords="offset points",
                        ha="center",
                        fontsize="small",
                    )
                )

        ax.set_yticks(y, names)
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.set_xlim(-0.02, 1.02)
        ax.set_xlabel("attack accuracy on the targets")
        # Below the axes, clear of the rows.
        self.legend_ = ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12 - 0.2 / len(names)),
            ncol=2,
            fontsize="small",
            frameon=False,
        )
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_report(cls, reports, *, ax=None, **kwargs):
        """Plot attack reports side by side.

        Parameters
        ----------
        reports : dict of str to dict, or list of (str, dict)
            Attack name to :func:`~sklearn_dshare.metrics.attack_report`
            output, in the order to draw them (top to bottom).
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : LeakageDisplay

        Raises
        ------
        ValueError
            If ``reports`` is empty or a report lacks a needed key.
        """
        items = list(reports.items()) if hasattr(reports, "items") else list(reports)
        if not items:
            raise ValueError("reports is empty; pass at least one attack report.")
        for name, report in items:
            missing = [k for k in _REPORT_KEYS if k not in report]
            if missing:
                raise ValueError(
                    f"The report of {name!r} lacks {missing}; LeakageDisplay needs "
                    f"{list(_REPORT_KEYS)} (auc and n_models optional), as "
                    "returned by sklearn_dshare.metrics.attack_report."
                )

        def column(key):
            return np.array([float(r.get(key, np.nan)) for _, r in items])

        has = {key: all(key in r for _, r in items) for key in ("auc", "n_models")}
        display = cls(
            names=[name for name, _ in items],
            accuracy=column("accuracy"),
            ci_low=column("ci_low"),
            ci_high=column("ci_high"),
            chance=column("chance"),
            auc=column("auc") if has["auc"] else None,
            n_models=column("n_models").astype(int) if has["n_models"] else None,
        )
        return display.plot(ax=ax, **kwargs)
