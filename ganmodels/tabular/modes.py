"""The Gaussian-mixture modes of a numeric column's non-heap values (CTGAN's mode-specific
normalization fits a variational mixture and keeps the components that carry weight)."""

from __future__ import annotations

import warnings

import numpy as np

MIN_WEIGHT = 0.005  # mixture components lighter than this are dropped


def fit_modes(x: np.ndarray, max_modes: int, seed: int) -> tuple[list[float], list[float]]:
    """Means and stds of the mixture components that carry weight."""
    # Fitting only: serving (inverse_transform) never needs scikit-learn.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import BayesianGaussianMixture

    distinct = np.unique(x)
    if len(distinct) == 1:
        return [float(distinct[0])], [max(abs(float(distinct[0])) * 1e-3, 1e-3)]
    with warnings.catch_warnings():
        # max_iter bounds the fit on purpose; a not-quite-converged mixture still finds the modes.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm = BayesianGaussianMixture(
            n_components=min(max_modes, len(distinct)),
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=0.001,
            max_iter=200,
            random_state=seed,
        ).fit(x.reshape(-1, 1))
    keep = gmm.weights_ > MIN_WEIGHT
    means = gmm.means_.ravel()[keep]
    stds = np.sqrt(gmm.covariances_.ravel()[keep])
    floor = 1e-3 * (x.max() - x.min())  # a spike of identical values must not divide by ~0
    return means.tolist(), np.maximum(stds, floor).tolist()
