"""Careless inputs a new user types, each with the typed error it must get and the culprit its
message must name (issue 21). No numpy, pandas or JAX internal exception may escape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import credo

CLINIC = credo.examples.clinic()


def _rain_wet():
    rain = credo.TabularCPD("Rain", ["yes", "no"], [0.2, 0.8])
    wet = credo.TabularCPD("Wet", ["yes", "no"], [[0.9, 0.1], [0.1, 0.9]], parents=["Rain"])
    return credo.BayesianNetwork(cpds=[rain, wet])


#: (id, call, error type, text the message must contain)
CASES = [
    ("misspelled variable", lambda: credo.query(CLINIC, ["Fluu"]), credo.UnknownVariableError, "did you mean 'Flu'"),
    ("variable in the wrong case", lambda: credo.query(CLINIC, ["flu"]), credo.UnknownVariableError,
     "did you mean 'Flu'? names are case-sensitive"),
    ("state in the wrong case", lambda: credo.query(CLINIC, ["Flu"], {"Cough": "YES"}), credo.UnknownStateError,
     "did you mean 'yes'"),
    ("state by position", lambda: credo.query(CLINIC, ["Flu"], {"Cough": 0}), credo.UnknownStateError,
     "state 0 of variable 'Cough'"),
    ("evidence as a string", lambda: credo.query(CLINIC, "Flu", "Cough=yes"), credo.ModelError, "'Cough=yes'"),
    ("evidence as a list of pairs", lambda: credo.query(CLINIC, "Flu", [("Cough", "yes")]), credo.ModelError,
     "row 0"),
    ("unknown keyword", lambda: credo.query(CLINIC, variables=["Flu"]), credo.UnknownKeywordError, "'variables'"),
    ("misspelled keyword", lambda: credo.query(CLINIC, ["Flu"], elimination_ordr="min-fill"),
     credo.UnknownKeywordError, "did you mean 'elimination_order'"),
    ("sampler keyword misspelled", lambda: credo.query(CLINIC, ["Flu"], method="lw", num_sample=10),
     credo.UnknownKeywordError, "did you mean 'num_samples'"),
    ("unknown method", lambda: credo.query(CLINIC, ["Flu"], method="exact"), credo.ModelError, "'exact'"),
    ("negative sample count", lambda: CLINIC.sample(-5), credo.ArgumentError, "num_samples"),
    ("fractional sample count", lambda: CLINIC.sample(2.5), credo.ArgumentError, "num_samples"),
    ("soft evidence as a state", lambda: credo.query(CLINIC, ["Flu"], soft_evidence={"Fever": "yes"}),
     credo.ModelError, "Fever"),
    ("soft evidence of the wrong length", lambda: credo.query(CLINIC, ["Flu"], soft_evidence={"Fever": [1, 0, 0]}),
     credo.ModelError, "Fever"),
    ("soft evidence on an unknown state", lambda: credo.query(CLINIC, ["Flu"], soft_evidence={"Fever": {"high": 1}}),
     credo.UnknownStateError, "'high'"),
    ("position out of range", lambda: credo.query(CLINIC, ["Flu"], evidence_index={"Cough": 2}),
     credo.UnknownStateError, "Cough"),
    ("a DataFrame of positions as names", lambda: credo.query(CLINIC, ["Flu"], pd.DataFrame({"Cough": [0, 1]})),
     credo.UnknownStateError, "Cough"),
    ("declared parent states that differ", lambda: credo.BayesianNetwork(cpds=[
        credo.TabularCPD("Rain", ["yes", "no"], [0.2, 0.8]),
        credo.TabularCPD("Wet", ["yes", "no"], [[0.9, 0.1], [0.1, 0.9]], parents=["Rain"],
                         parent_states={"Rain": ["y", "n"]})]), credo.CPDError, "'Rain'"),
    ("an infinite potential", lambda: credo.DiscreteFactor(["x"], [1.0, np.inf]), credo.ModelError, "infinite"),
    ("a CPD row that does not sum to one",
     lambda: credo.TabularCPD("Rain", ["yes", "no"], [0.3, 0.6]), credo.CPDError, "'Rain'"),
    ("an unknown variable in a batch column",
     lambda: credo.query(CLINIC, ["Flu"], pd.DataFrame({"Cogh": ["yes"]})), credo.UnknownVariableError, "'Cogh'"),
    ("an unknown state in a batch", lambda: credo.query(CLINIC, ["Flu"], [{"Cough": "yes"}, {"Cough": "maybe"}]),
     credo.UnknownStateError, "'maybe'"),
]


@pytest.mark.parametrize("call, error, text", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_careless_input_gets_a_typed_error_naming_the_culprit(call, error, text):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, credo.CredoError)
    assert text in str(info.value)


def test_missing_values_in_one_evidence_mean_unobserved():
    frame = pd.DataFrame({"Cough": ["yes", None], "Fever": [np.nan, "no"]})
    for i in range(len(frame)):
        row = frame.iloc[i].to_dict()
        single = credo.query(CLINIC, ["Flu"], row).marginals["Flu"]["yes"]
        batch = credo.query(CLINIC, ["Flu"], frame).marginals["Flu"][i, 0]
        assert single == pytest.approx(batch, abs=1e-12)


def test_the_short_list_of_valid_names_is_shown_whole():
    names = [f"v{i}" for i in range(40)]
    cpds = [credo.TabularCPD(n, ["a", "b"], [0.5, 0.5]) for n in names]
    with pytest.raises(credo.UnknownVariableError) as info:
        credo.query(credo.BayesianNetwork(cpds=cpds), ["w"])
    assert all(repr(n) in str(info.value) for n in names)


def test_repr_and_star_import():
    assert repr(CLINIC) == "BayesianNetwork 'clinic' (7 variables, 7 factors)"
    namespace: dict = {}
    exec("from credo import *", namespace)  # noqa: S102 - the user's own line
    for name in ("sample", "plate", "logdensity", "posterior_predictive", "nuts", "advi", "query"):
        assert name in namespace and name in dir(credo)


def test_a_discrete_latent_in_nuts_points_to_gibbs():
    import credo.distributions as dist

    def model():
        z = credo.sample("z", dist.Bernoulli(0.3))
        credo.sample("y", dist.Normal(z * 1.0, 1.0), obs=0.5)

    with pytest.raises(credo.ModelError, match=r"'z'.*credo\.gibbs"):
        credo.nuts(model, chains=1, warmup=10, draws=10, progress=False)
