"""Shared conventions: input coercion (lists, NumPy, torch), units, seeds, registry, imports."""

import math
import subprocess
import sys

import numpy as np
import pytest

import infomeasure as im
from estimators import _validation as v
from estimators._registry import MethodRegistry


def test_lists_arrays_and_shapes_are_equivalent():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300)
    y = x + rng.standard_normal(300)
    a = im.mutual_information(x, y)
    assert im.mutual_information(list(x), list(y)) == a
    assert im.mutual_information(x[:, None], y.reshape(-1, 1)) == a
    assert im.mutual_information(x.astype(np.float32), y.astype(np.float32)) == pytest.approx(a, abs=0.02)


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 2))
    y = x[:, :1] + rng.standard_normal((400, 1))
    want = im.mutual_information(x, y)
    got = im.mutual_information(torch.tensor(x), torch.tensor(y, requires_grad=True))
    assert got == want
    assert isinstance(got, float)
    # half precision is widened, integer tensors are symbols
    with pytest.warns(UserWarning, match="heavy ties"):  # bfloat16 keeps 8 bits: many repeats
        assert math.isfinite(im.entropy(torch.tensor(x).to(torch.bfloat16)))
    assert im.entropy(torch.tensor([0, 1, 2, 3]), method="discrete", base=2) == 2.0


def test_units():
    assert v.to_base(math.log(8), 2) == pytest.approx(3.0)
    assert v.to_base(1.0, None) == 1.0
    assert v.to_base(math.log(10), 10) == pytest.approx(1.0)
    x = np.random.default_rng(2).standard_normal((500, 2))
    nats = im.entropy(x, method="gaussian")
    assert im.entropy(x, method="gaussian", base=2) == pytest.approx(nats / math.log(2))
    assert im.entropy(x, method="gaussian", base=math.e) == pytest.approx(nats)


def test_seed_conventions():
    assert isinstance(v.check_rng(None), np.random.Generator)
    g = np.random.default_rng(3)
    assert v.check_rng(g) is g
    assert v.check_rng(5).random() == np.random.default_rng(5).random()
    with pytest.raises(TypeError, match="seed"):
        v.check_rng(1.5)
    with pytest.raises(ValueError, match="non-negative"):
        v.check_rng(-1)


def test_as_samples_errors():
    with pytest.raises(ValueError, match="scalar"):
        v.as_samples(3.0)
    with pytest.raises(ValueError, match="0 features"):
        v.as_samples(np.zeros((4, 0)))
    with pytest.raises(TypeError, match="complex"):
        v.as_samples(np.ones(3, dtype=complex))
    with pytest.raises(TypeError, match="rectangular|real numbers"):
        v.as_samples([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="array-like"):
        v.as_samples(None)
    with pytest.raises(ValueError, match="1 NaN and 1 infinite"):
        v.as_samples([1.0, np.nan, np.inf])


def test_as_labels_rows_and_types():
    np.testing.assert_array_equal(v.as_labels(["b", "a", "b"]), [1, 0, 1])
    np.testing.assert_array_equal(v.as_labels([[0, 1], [0, 1], [1, 0]]), [0, 0, 1])
    np.testing.assert_array_equal(v.as_labels([True, False]), [1, 0])
    with pytest.raises(ValueError, match="NaN"):
        v.as_labels([0.0, np.nan])


def test_registry_behaviour():
    reg = MethodRegistry("thing")

    @reg.register("alpha", "a")
    def f(x, *, base=None, scale=1):
        return x * scale

    assert reg.resolve("Alpha") is f and reg.resolve("A") is f
    assert reg.call("a", 2, scale=3) == 6
    with pytest.raises(ValueError, match="unknown method 'b' for thing; valid methods: 'alpha'"):
        reg.resolve("b")
    with pytest.raises(TypeError, match="does not take 'k'; it accepts: base, scale"):
        reg.call("alpha", 1, k=3)
    with pytest.raises(RuntimeError, match="registered twice"):
        reg.register("a")(f)


def test_every_public_name_is_exported():
    import estimators

    for name in estimators.__all__:
        assert getattr(im, name) is getattr(estimators, name)
    assert set(im.MI_METHODS.names) >= {"ksg", "gaussian", "discrete", "binned", "mixed", "ross"}
    assert set(im.ENTROPY_METHODS.names) >= {"discrete", "miller_madow", "kl", "gaussian", "kde", "renyi", "tsallis"}
    assert set(im.CMI_METHODS.names) >= {"ksg", "gaussian", "discrete"}


def test_import_is_light():
    code = (
        "import sys, infomeasure; "
        "heavy = [m for m in ('torch', 'matplotlib', 'sklearn', 'pandas', 'lightning', 'transformers') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_lists_methods(capsys):
    from infomeasure.cli import main

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert "mutual_information:" in out and "ksg" in out and "miller_madow" in out


def test_warnings_point_at_the_callers_line():
    x = np.random.default_rng(0).standard_normal((30, 5))
    with pytest.warns(UserWarning) as rec:
        im.entropy(x)  # through the front function and the registry
    assert all(w.filename == __file__ for w in rec)
    with pytest.warns(UserWarning) as rec:
        im.mi_ksg(x, x[:, ::-1] + 1.0)
    assert all(w.filename == __file__ for w in rec)


def test_continuous_floats_given_to_discrete_estimators_warn():
    rng = np.random.default_rng(0)
    x = rng.random(200)
    with pytest.warns(UserWarning, match=r"x looks continuous: its 200 float samples form 200 distinct symbols"):
        h = im.entropy(x, method="discrete")
    assert h == pytest.approx(math.log(200), abs=1e-12)
    with pytest.warns(UserWarning, match="y looks continuous"):
        im.mutual_information(rng.integers(0, 3, 200), x, method="discrete")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        im.entropy(rng.integers(0, 5, 200).astype(float), method="discrete")  # few float symbols: fine
        im.entropy(x[:19], method="discrete")  # too short to tell
