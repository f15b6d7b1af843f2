r"""The expected log joint :math:`E_q[\log p(x, y)]` of a model, in closed form.

For a mean-field :math:`q(x) = \prod_s q_s(x_s)` of exponential-family
factors (:mod:`credo.vi.cavi.factors`), every site's expected log density is a
function of a few moments of its value and of its distribution's parameters.
Those come from the model's own code, run at *plug-in points*:

- at the factors' means, a parameter that is affine in the latent sites
  (a Normal's ``loc``; a precision ``scale**-2`` or a rate that is a scaled
  copy of a Gamma site) evaluates to its expectation;
- at the factors' geometric means :math:`\exp E[\log x]` (and
  :math:`1 - \exp E[\log(1 - x)]` for Beta sites), the logarithm of a
  parameter that is a scaled copy of a positive site evaluates to its
  expected logarithm;
- the variance of an affine ``loc`` is :math:`\operatorname{diag}(J \Sigma J^\top)`
  with :math:`J` its Jacobian (:func:`jax.jacfwd`) and :math:`\Sigma` the
  covariance of the Normal factors it reads;
- a discrete latent site (``z[n] ~ Categorical``) is enumerated: the sites
  that depend on it are evaluated at each value of its support, and their
  terms are averaged with the responsibilities :math:`q(z_n = k)`, element
  by element of the site's plates (as the Gibbs sampler's enumeration).

Wherever those rules are exact, :math:`E_q[\log p]` is linear in each factor's
mean parameters (conditional conjugacy, Blei et al. 2017 sec. 4.2); wherever
they are not, it is not, which :meth:`ExpectedLogJoint.check` detects
numerically and reports with the two sites involved.

References
----------
Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*, sec. 10.1-10.4.

Blei, D. M., Kucukelbir, A. and McAuliffe, J. D. (2017). Variational
inference: a review for statisticians. *JASA* 112(518), 859-877.

Winn, J. and Bishop, C. M. (2005). Variational message passing. *JMLR* 6, 661-694.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
from jax.scipy.special import gammaln

from credo.errors import NotConjugateError
from credo.ppl.conjugacy import conjugate_conditional
from credo.ppl.structure import (ModelStructure, distribution_name, likelihood_weight, parameter,
                                 tolerance, unwrap)

from .factors import (BetaFactor, CategoricalFactor, DirichletFactor, GammaFactor, MVNFactor,
                      NormalFactor)

__all__ = ["NotConjugateError", "ExpectedLogJoint"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ----------------------------------------------------------------------------- expected log densities
# Each takes the site's distribution evaluated at the mean plug-in point (``m``),
# the geometric one (``g``) and the Beta one-minus point (``o``), the moments of
# its value ``v`` and the variance of a Normal loc; returns an array of the base
# distribution's batch shape.
def _e_normal(m, g, o, v, var_loc):
    precision = parameter(m, "scale") ** -2
    log_precision = -2.0 * jnp.log(parameter(g, "scale"))
    sq = (v["mean"] - parameter(m, "loc")) ** 2 + v["var"] + var_loc
    return 0.5 * log_precision - _HALF_LOG_2PI - 0.5 * precision * sq


def _e_mvn(m, g, o, v, var_loc):
    if m.batch_shape != ():
        raise _Unsupported("a batched MultivariateNormal")
    precision = m.precision_matrix
    d = precision.shape[-1]
    diff = jnp.reshape(v["mean"], (d,)) - m.loc
    cov = v["cov"] if "cov" in v else jnp.diag(jnp.reshape(v["var"], (d,)))
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(m.scale_tril)))
    return (-d * _HALF_LOG_2PI - 0.5 * logdet
            - 0.5 * (diff @ precision @ diff + jnp.sum(precision * cov)))


def _e_gamma(m, g, o, v, var_loc):
    a = parameter(m, "concentration")
    return (a * jnp.log(parameter(g, "rate")) - gammaln(a) + (a - 1) * v["Elog"]
            - parameter(m, "rate") * v["mean"])


def _e_exponential(m, g, o, v, var_loc):
    return jnp.log(parameter(g, "rate")) - parameter(m, "rate") * v["mean"]


def _e_beta(m, g, o, v, var_loc):
    a, b = parameter(m, "concentration1"), parameter(m, "concentration0")
    return (gammaln(a + b) - gammaln(a) - gammaln(b) + (a - 1) * v["Elog"]
            + (b - 1) * v["Elog1m"])


def _e_dirichlet(m, g, o, v, var_loc):
    a = m.concentration
    return (gammaln(jnp.sum(a, -1)) - jnp.sum(gammaln(a), -1)
            + jnp.sum((a - 1) * v["Elog"], -1))


def _log_p(g):
    return jnp.log(parameter(g, "probs"))


def _log_1mp(o):
    return jnp.log1p(-parameter(o, "probs"))


def _e_bernoulli(m, g, o, v, var_loc):
    y = v["mean"]
    return y * _log_p(g) + (1 - y) * _log_1mp(o)


def _e_binomial(m, g, o, v, var_loc):
    y, n = v["mean"], parameter(m, "total_count")
    coef = gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
    return coef + y * _log_p(g) + (n - y) * _log_1mp(o)


def _e_geometric(m, g, o, v, var_loc):
    return _log_p(g) + v["mean"] * _log_1mp(o)


def _e_poisson(m, g, o, v, var_loc):
    y = v["mean"]
    return y * jnp.log(parameter(g, "rate")) - parameter(m, "rate") - gammaln(y + 1)


def _e_categorical(m, g, o, v, var_loc):
    log_p = jnp.log(g.probs)
    y = jnp.asarray(v["mean"]).astype(jnp.int32)
    log_p = jnp.broadcast_to(log_p, y.shape + log_p.shape[-1:])
    return jnp.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]


def _e_multinomial(m, g, o, v, var_loc):
    y, n = v["mean"], m.total_count
    return gammaln(n + 1) - jnp.sum(gammaln(y + 1), -1) + jnp.sum(y * jnp.log(g.probs), -1)


_EXPECTED = {
    "Normal": _e_normal, "MultivariateNormal": _e_mvn, "Gamma": _e_gamma,
    "Exponential": _e_exponential, "Beta": _e_beta, "Dirichlet": _e_dirichlet,
    "Bernoulli": _e_bernoulli, "Binomial": _e_binomial, "Geometric": _e_geometric,
    "Poisson": _e_poisson, "Categorical": _e_categorical, "Multinomial": _e_multinomial,
}

# prior family of a latent site -> its factor
_FACTORS = {"Normal": NormalFactor, "MultivariateNormal": MVNFactor, "Gamma": GammaFactor,
            "Exponential": GammaFactor, "Beta": BetaFactor, "Dirichlet": DirichletFactor,
            "Categorical": CategoricalFactor, "Bernoulli": CategoricalFactor}


class _Unsupported(Exception):
    pass


def _constant_moments(value):
    v = jnp.asarray(value)
    f = v.astype(jnp.result_type(float))
    return {"mean": v, "var": jnp.zeros_like(f), "Elog": jnp.log(f), "Elog1m": jnp.log1p(-f)}


# ----------------------------------------------------------------------------- the expected log joint
class ExpectedLogJoint:
    """:math:`E_q[\\log p(x, y)]` of a model as a function of the factors' mean parameters.

    Parameters
    ----------
    model : callable
    data : dict, optional

    Attributes
    ----------
    structure : ModelStructure
    factors : dict of str -> Factor
        One factor per latent site, in model order.
    discrete : tuple of str
        Latent sites with a finite support, enumerated.
    groups : dict of (str or None) -> tuple of str
        The sample sites whose terms are evaluated per value of each discrete
        site (``None``: sites that depend on no discrete site).

    Raises
    ------
    NotConjugateError
        A latent site without a conjugate exponential-family prior, a site
        family without a closed-form expected log density, ``factor`` sites,
        or discrete sites whose elements share a child.
    """

    def __init__(self, model, data: dict | None = None):
        struct = ModelStructure(model, data)
        self.structure = struct
        proto = struct.prototype
        for s in proto.sites("factor"):
            raise NotConjugateError(s.name, "a factor site adds an arbitrary log weight; CAVI "
                                    "needs every term to be a conjugate exponential family")
        self.sample_sites = tuple(s.name for s in proto.sites("sample"))
        for name in self.sample_sites:
            if name in struct.latent:
                continue  # checked, with a message about priors, when its factor is chosen
            family = distribution_name(proto[name].fn)
            base = type(unwrap(proto[name].fn)[0]).__name__
            if base not in _EXPECTED:
                raise NotConjugateError(name, f"{family} has no closed-form expected log density "
                                        f"under a mean-field q (supported: {sorted(_EXPECTED)})")
        self.discrete = tuple(s for s in struct.latent if struct.is_discrete(s))
        self.factors = {s: self._factor(s) for s in struct.latent}
        self.normal_sites = tuple(s for s, f in self.factors.items()
                                  if isinstance(f, (NormalFactor, MVNFactor)))
        self.groups = self._groups()
        self._loc_parents = {c: tuple(w for w in self.normal_sites if w in nx.ancestors(struct.graph, c))
                             for c in self.sample_sites}

    # -- analysis --------------------------------------------------------------------------
    def _factor(self, s):
        site = self.structure.site(s)
        base, _, _ = unwrap(site.fn)
        family = type(base).__name__
        shape = tuple(jnp.shape(site.value))
        if family not in _FACTORS:
            raise NotConjugateError(s, f"its prior is {distribution_name(site.fn)}; CAVI needs a "
                                    "conjugate exponential-family prior (Normal, "
                                    "MultivariateNormal, Gamma, Exponential, Beta, Dirichlet, "
                                    "Categorical or Bernoulli)")
        if family == "Normal" and self._coupled(s):
            return MVNFactor(shape)
        if family in ("Categorical", "Bernoulli"):
            upper = 1 if family == "Bernoulli" else base.probs.shape[-1] - 1
            return CategoricalFactor(shape, support=tuple(range(upper + 1)))
        return _FACTORS[family](shape)

    def _coupled(self, s) -> bool:
        """Whether some child's ``loc`` reads several elements of Normal site ``s`` (then q is an MVN).

        The Gibbs sampler's conjugacy analysis answers this where it applies
        (:func:`credo.ppl.conjugacy.conjugate_conditional`: a diagonal Normal
        or a multivariate Normal conditional); otherwise the children's
        Jacobians are inspected here.
        """
        struct = self.structure
        found = conjugate_conditional(None, structure=struct, site=s)
        if found is not None:
            return found.family == "MultivariateNormal"
        values = struct.random_values(jax.random.PRNGKey(0), "uniform")
        v = jnp.asarray(values[s])
        if v.size <= 1:
            return False
        children = [c for c in struct.children[s] if type(unwrap(struct.prototype[c].fn)[0]).__name__
                    in ("Normal", "MultivariateNormal")]
        if not children:
            return False

        @jax.jit
        def jacobians(sv):
            def locs(sv):
                tr = struct.trace_at({**values, s: sv})
                return [jnp.reshape(parameter(unwrap(tr[c].fn)[0], "loc"), (-1,)) for c in children]
            return jax.jacfwd(locs)(sv)

        for jac in jax.device_get(jacobians(v)):
            jac = np.asarray(jac).reshape(-1, v.size)
            if np.any((np.abs(jac) > tolerance(jac.dtype)).sum(axis=1) > 1):
                return True
        return False

    def _groups(self) -> dict:
        struct = self.structure
        groups = {None: []}
        groups.update({d: [] for d in self.discrete})
        for c in self.sample_sites:
            deps = {d for d in self.discrete if d == c or d in nx.ancestors(struct.graph, c)}
            if len(deps) > 1:
                raise NotConjugateError(c, f"depends on several discrete latent sites "
                                        f"{sorted(deps)}; CAVI enumerates one at a time")
            (d,) = deps or {None}
            if d is not None:
                self._check_aligned(c, d)
            groups[d].append(c)
        return {k: tuple(v) for k, v in groups.items()}

    def _check_aligned(self, c, d):
        proto = self.structure.prototype
        zsite, csite = proto[d], proto[c]
        zplates = {f.name: f.dim for f in zsite.plates}
        shape = tuple(jnp.shape(zsite.value))
        covered = {f.dim for f in zsite.plates}
        if any(n != 1 and (i - len(shape)) not in covered for i, n in enumerate(shape)):
            raise NotConjugateError(d, "a discrete site must be independent across its elements "
                                    "(its shape must be its plates) to be enumerated")
        cplates = {f.name: f.dim for f in csite.plates}
        if any(cplates.get(name) != dim for name, dim in zplates.items()):
            raise NotConjugateError(c, f"depends on discrete site {d!r} outside its plates "
                                    f"{sorted(zplates)}: the elements of {d!r} are not "
                                    "conditionally independent")

    # -- evaluation ------------------------------------------------------------------------
    def moments(self, mps: dict) -> dict:
        return {s: self.factors[s].moments(mp) for s, mp in mps.items()}

    def terms(self, mps: dict) -> dict:
        """Per sample site, its expected log density (a scalar), given the factors' mean parameters."""
        mom = self.moments(mps)
        cont = [s for s in self.factors if s not in self.discrete]
        plugs = {"mean": {s: mom[s]["mean"] for s in cont},
                 "log": {s: mom[s]["log"] for s in cont},
                 "log1m": {s: mom[s].get("log1m", mom[s]["log"]) for s in cont}}
        fixed = {d: jnp.zeros(self.factors[d].shape, jnp.asarray(self.structure.site(d).value).dtype)
                 for d in self.discrete}
        out = {}
        if self.groups[None]:
            arrays = self._branch(self.groups[None], mom, plugs, fixed)
            out.update({c: jnp.sum(a) for c, a in arrays.items()})
        for d in self.discrete:
            sites = self.groups[d]
            if not sites:
                continue
            factor = self.factors[d]
            support = jnp.asarray(factor.support, fixed[d].dtype)
            zsite = self.structure.site(d)

            def at(k, sites=sites, d=d, zsite=zsite):
                arrays = self._branch(sites, mom, plugs, {**fixed, d: jnp.full(factor.shape, k,
                                                                               fixed[d].dtype)})
                return {c: _onto(a, self.structure.site(c), zsite, factor.shape)
                        for c, a in arrays.items()}

            per_k = jax.vmap(at)(support)  # site -> (K, *zshape)
            resp = jnp.moveaxis(mom[d]["probs"], -1, 0)
            out.update({c: jnp.sum(resp * a) for c, a in per_k.items()})
        return {c: out[c] for c in self.sample_sites}

    def __call__(self, mps: dict):
        """:math:`E_q[\\log p(x, y)]` (a scalar)."""
        return sum(self.terms(mps).values())

    @functools.cached_property
    def value_and_grad(self):
        """Jitted ``mps -> ((E_q[log p], terms), gradient)``: one compiled program serves the
        updates (the gradient), the ELBO (the value) and the conjugacy check (the terms)."""
        def total(mps):
            terms = self.terms(mps)
            return sum(terms.values()), terms

        return jax.jit(jax.value_and_grad(total, has_aux=True))

    def _branch(self, sites, mom, plugs, discrete):
        struct = self.structure
        traces = {k: struct.trace_at({**p, **discrete}) for k, p in plugs.items()}
        out = {}
        for c in sites:
            site = traces["mean"][c]
            m, masks, extra = unwrap(site.fn)
            g, _, _ = unwrap(traces["log"][c].fn)
            o, _, _ = unwrap(traces["log1m"][c].fn)
            family = type(m).__name__
            value = mom[c] if c in mom and c not in self.discrete else _constant_moments(site.value)
            var_loc = (self._loc_variance(c, mom, {**plugs["mean"], **discrete})
                       if family == "Normal" else 0.0)
            try:
                e = _EXPECTED[family](m, g, o, value, var_loc)
            except _Unsupported as err:
                raise NotConjugateError(c, f"{err} has no closed-form expected log density here") from None
            w = likelihood_weight(site, m, masks, extra, tuple(m.batch_shape))
            e = e * w
            out[c] = jnp.sum(e, axis=tuple(range(e.ndim - extra, e.ndim))) if extra else e
        return out

    def _loc_variance(self, c, mom, values):
        """``diag(J Sigma J^T)``: the variance of a Normal site's loc under the Normal factors."""
        struct = self.structure
        total = 0.0
        for w in self._loc_parents[c]:
            def loc(wv, w=w):
                b, _, _ = unwrap(struct.trace_at({**values, w: wv})[c].fn)
                return parameter(b, "loc")

            jac = jax.jacfwd(loc)(values[w])
            shape = jac.shape[: jac.ndim - len(self.factors[w].shape)]
            jac = jnp.reshape(jac, (-1, self.factors[w].size))
            if "cov" in mom[w]:
                var = jnp.einsum("ij,jk,ik->i", jac, mom[w]["cov"], jac)
            else:
                var = jac ** 2 @ jnp.reshape(mom[w]["var"], (-1,))
            total = total + jnp.reshape(var, shape)
        return total

    # -- the conjugacy check ---------------------------------------------------------------
    def check(self, seed: int = 0):
        """Raise :class:`NotConjugateError` unless every term is linear in every factor's mean parameters.

        Midpoint test at random states: a term ``T`` is linear in ``mu_s``
        when ``T((a + b) / 2) = (T(a) + T(b)) / 2``.
        """
        rng = np.random.default_rng(seed)
        dtype = jnp.result_type(float)
        states = {s: f.random_state(rng, dtype) for s, f in self.factors.items()}
        mps = {s: f.mean_params(states[s]) for s, f in self.factors.items()}
        def terms(mps):
            return self.value_and_grad(mps)[0][1]

        tol = tolerance(np.dtype(dtype))
        for s, f in self.factors.items():
            a = f.mean_params(f.random_state(rng, dtype))
            b = f.mean_params(f.random_state(rng, dtype))
            mid = jax.tree_util.tree_map(lambda x, y: 0.5 * (x + y), a, b)
            ta, tb, tm = (jax.device_get(terms({**mps, s: p})) for p in (a, b, mid))
            for c in self.sample_sites:
                x, y, z = float(ta[c]), float(tb[c]), float(tm[c])
                if not all(np.isfinite([x, y, z])):
                    raise NotConjugateError(c, f"its expected log density is not finite under "
                                            f"q({s!r}); is the model conjugate in {s!r}?")
                if abs(z - 0.5 * (x + y)) > tol * (1.0 + abs(x) + abs(y)):
                    raise NotConjugateError(
                        s, f"the expected log density of {c!r} is not linear in the sufficient "
                        f"statistics of q({s!r}) ({f.name}), so q({s!r}) has no closed-form "
                        f"update: {c!r} must read {s!r} through a conjugate parameter (a Normal's "
                        "loc affine in Normal sites; a precision scale**-2, a rate or a Gamma "
                        "rate a scaled copy of a Gamma site; probabilities a copy of a Beta or "
                        "Dirichlet site)")


def _onto(term, csite, zsite, zshape):
    """Sum a site's per-element terms onto the discrete site's elements (its plates)."""
    rank = term.ndim
    keep = {rank + f.dim for f in zsite.plates if rank + f.dim >= 0}
    summed = tuple(a for a in range(rank) if a not in keep)
    out = jnp.sum(term, axis=summed, keepdims=True) if summed else term
    if rank > len(zshape):
        out = jnp.reshape(out, out.shape[rank - len(zshape):])
    return jnp.broadcast_to(out, zshape)
