"""All-or-nothing ``fit``: a fit that does not finish leaves the estimator as it was.

A defended fit runs for minutes to hours, and may end early by Ctrl-C, a
diverged training or running out of memory. Without care it leaves some
fitted attributes behind (``n_features_in_`` is set first of all), so the
estimator looks fitted to ``check_is_fitted`` while holding no model, or a
refit mixes the new run's attributes into the previous model's.
"""

import functools

__all__ = ["atomic_fit"]


def atomic_fit(fit):
    """Decorate a ``fit`` method so that any exception restores the estimator.

    The estimator's ``__dict__`` is copied before ``fit`` runs; on any
    ``BaseException`` (``KeyboardInterrupt`` and ``MemoryError`` included)
    it is put back as it was and the exception propagates. An interrupted
    first fit thus leaves an unfitted estimator and an interrupted refit the
    previous model. The copy is shallow: ``fit`` must bind new fitted
    attributes rather than mutate the previous ones in place, which is what
    the fits of this package do.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(self.__dict__)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    return wrapper
