"""Method registries: lazy declarations, keyword checks, and the defaults shown by help()."""

import inspect

import pytest

import estimators as est
from estimators._registry import MethodRegistry, document_keywords

FRONTS = [
    (est.entropy, est.ENTROPY_METHODS),
    (est.mutual_information, est.MI_METHODS),
    (est.conditional_mutual_information, est.CMI_METHODS),
    (est.transfer_entropy, est.TE_METHODS),
    (est.o_information, est.OINFO_METHODS),
    (est.total_correlation, est.TC_METHODS),
    (est.dual_total_correlation, est.DTC_METHODS),
    (est.s_information, est.SINFO_METHODS),
]


def test_declared_methods_resolve_on_first_use_and_keep_their_place():
    reg = MethodRegistry("test quantity")
    reg.register("first")(len)
    reg.declare("kl", ".entropy:entropy_kl", "kozachenko")
    assert reg.names == ["first", "kl"] and reg.aliases == {"kozachenko": "kl"}
    assert reg._funcs["kl"] == ".entropy:entropy_kl"  # not imported yet
    assert reg.resolve("Kozachenko") is est.entropy_kl and reg._funcs["kl"] is est.entropy_kl
    with pytest.raises(TypeError, match="method 'kl' of test quantity does not take 'alpha'"):
        reg.call("kl", [0.0, 1.0, 2.0], alpha=2)
    with pytest.raises(RuntimeError, match="registered twice"):
        reg.declare("kl", ".entropy:entropy_kl")


def test_mutual_information_registry_is_complete_from_its_own_module():
    import estimators.mutual_info as mi

    # the neural, matrix and diffusion methods are declared where the registry lives
    for name, func in [("mine", est.mi_mine), ("matrix", est.mi_matrix),
                       ("dsmi", est.diffusion_spectral_mutual_information)]:
        assert mi.MI_METHODS.resolve(name) is func


@pytest.mark.parametrize("front, registry", FRONTS, ids=lambda f: getattr(f, "__name__", ""))
def test_help_shows_every_methods_keyword_defaults(front, registry):
    doc = front.__doc__
    shown = set(inspect.signature(front).parameters) | {"base"}
    for name in registry.names:
        params = [p for p in inspect.signature(registry.resolve(name)).parameters.values()
                  if p.default is not inspect.Parameter.empty and p.name not in shown]
        if params:
            line = next(l for l in doc.splitlines() if l.strip().startswith(f'* ``"{name}"``'))
            for p in params:
                assert f"{p.name}={p.default!r}" in line, (name, p.name)


def test_the_ksg_default_k_is_visible_in_help():
    assert "* ``\"ksg\"``: ``k=4, variant=1, standardize=True, noise=0.0, seed=None``" in est.mutual_information.__doc__


def test_documenting_a_function_without_kwargs_is_refused():
    def f(x):
        """No keywords.

        Parameters
        ----------
        x : int
        """

    with pytest.raises(RuntimeError, match="no \\*\\*kwargs entry"):
        document_keywords(f, est.MI_METHODS)
