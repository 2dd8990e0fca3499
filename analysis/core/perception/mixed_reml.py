"""REML fit of a linear model with crossed random intercepts, the way lme4 does it.

    y = X b + Z_1 u_1 + ... + Z_k u_k + e,   u_j ~ N(0, s_j^2 I),   e ~ N(0, s^2 I)

Each grouping factor (reader, case) adds one intercept per level. Following Bates et al. (2015, "Fitting
linear mixed-effects models using lme4", section 3), the REML criterion is profiled over the relative
standard deviations theta_j = s_j / s, and every evaluation needs only a Cholesky factor of the small
q x q matrix Lambda Z'Z Lambda + I (q = number of readers + number of cases), never an n x n matrix. For
6 readers x 240 cases that is a 246 x 246 factorisation: a fit takes milliseconds, where statsmodels'
``MixedLM`` with the crossed factors as variance components of one group takes seconds. The tests check
that both reach the same estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, stats


@dataclass(frozen=True)
class RemlFit:
    beta: np.ndarray  # fixed effects, in the order of X's columns
    se: np.ndarray  # their standard errors: sqrt(diag(s^2 (X' V^-1 X)^-1)), V relative to s^2
    p: np.ndarray  # two-sided Wald z-test, as statsmodels' MixedLM reports
    variances: dict[str, float]  # s_j^2 per grouping factor
    scale: float  # residual variance s^2
    loglik: float  # the maximised REML log-likelihood (statsmodels' llf for the same model)
    converged: bool


class SingularFitError(ArithmeticError):
    """The fixed effects cannot be estimated at the optimum (a singular system); the reason is the message."""


# A variance ratio above this (s_j / s > 1e3, i.e. variance 1e6 times the residual) is numerically the same
# as an infinitely variable factor; unbounded, the search ran there and made RX'RX singular (issue 18).
MAX_THETA = 1e3


class _Criterion:
    """The profiled REML deviance as a function of theta, with the cross-products computed once."""

    def __init__(self, y: np.ndarray, X: np.ndarray, codes: list[np.ndarray]):
        self.y, self.X = y, X
        self.n, self.p = X.shape
        self.sizes = [int(c.max()) + 1 for c in codes]
        offsets = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(int)
        self.cols = [c + off for c, off in zip(codes, offsets, strict=True)]  # each row's column of Z, per factor
        q = sum(self.sizes)
        self.ZtZ = np.zeros((q, q))
        for a in self.cols:
            for b in self.cols:
                np.add.at(self.ZtZ, (a, b), 1.0)
        self.ZtX = np.zeros((q, self.p))
        self.Zty = np.zeros(q)
        for a in self.cols:
            np.add.at(self.ZtX, a, X)
            np.add.at(self.Zty, a, y)
        self.XtX, self.Xty = X.T @ X, X.T @ y

    def solve(self, theta: np.ndarray):
        """Penalised least squares at theta: (deviance, beta, RX'RX, residual variance)."""
        lam = np.repeat(theta, self.sizes)  # Lambda's diagonal: theta_j for each level of factor j
        A = lam[:, None] * self.ZtZ * lam[None, :]
        A[np.diag_indices_from(A)] += 1.0
        L = linalg.cholesky(A, lower=True, check_finite=False)  # thousands of calls: skip the checks
        cu = linalg.solve_triangular(L, lam * self.Zty, lower=True, check_finite=False)
        CX = linalg.solve_triangular(L, lam[:, None] * self.ZtX, lower=True, check_finite=False)
        RXtRX = self.XtX - CX.T @ CX
        beta = linalg.solve(RXtRX, self.Xty - CX.T @ cu, assume_a="pos", check_finite=False)
        u = linalg.solve_triangular(L.T, cu - CX @ beta, lower=False, check_finite=False)  # spherical random effects
        b = lam * u
        fitted = self.X @ beta + sum(b[c] for c in self.cols)
        r2 = float(np.sum((self.y - fitted) ** 2) + u @ u)  # penalised residual sum of squares
        dof = self.n - self.p
        logdet = 2 * np.log(np.diag(L)).sum() + np.linalg.slogdet(RXtRX)[1]
        deviance = logdet + dof * (1 + np.log(2 * np.pi * r2 / dof))
        return deviance, beta, RXtRX, r2 / dof

    def __call__(self, theta: np.ndarray) -> float:
        try:
            value = self.solve(theta)[0]
        except (np.linalg.LinAlgError, ValueError):  # singular at this theta: steer the search away
            return np.inf
        return value if np.isfinite(value) else np.inf


def fit_crossed_intercepts(y, X, factors: dict[str, np.ndarray]) -> RemlFit:
    """REML fit of y on the columns of X with one random intercept per level of each factor.

    ``factors`` maps a name to the per-row labels of that grouping factor (any hashable values)."""
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    codes = [np.unique(np.asarray(v), return_inverse=True)[1].ravel() for v in factors.values()]
    criterion = _Criterion(y, X, codes)
    k = len(codes)
    # theta = 0 is a legitimate optimum (a factor that explains nothing), hence bounds rather than logs. The
    # criterion is flat in theta_j at 0 (it depends on theta_j^2), so gradient methods started nearby stop
    # there even when a larger theta_j is better (seen: L-BFGS-B and Nelder-Mead, 885.5 vs 884.2). Powell's
    # derivative-free line searches do not (lme4 uses the derivative-free BOBYQA for the same reason).
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise SingularFitError("the fixed effects are collinear (a covariate is constant or duplicated)")
    res = optimize.minimize(
        criterion, np.ones(k), method="Powell", bounds=[(0.0, MAX_THETA)] * k, options={"xtol": 1e-8, "ftol": 1e-12}
    )
    theta = res.x
    try:
        deviance, beta, RXtRX, scale = criterion.solve(theta)
        cov = scale * np.linalg.inv(RXtRX)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise SingularFitError(f"singular system at the REML optimum ({exc})") from None
    se = np.sqrt(np.diag(cov))
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se)) and np.isfinite(deviance)):
        raise SingularFitError("non-finite estimates at the REML optimum")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.norm.sf(np.abs(beta / se))
    variances = {name: float(scale * t**2) for name, t in zip(factors, theta, strict=True)}
    return RemlFit(
        beta=beta,
        se=se,
        p=p,
        variances=variances,
        scale=float(scale),
        loglik=-deviance / 2,
        converged=bool(res.success),
    )
