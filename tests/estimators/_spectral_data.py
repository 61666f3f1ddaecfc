"""Test data shared by the spectral and diffusion test modules."""

import numpy as np


def offset_data(shape=(80, 12), seed=0):
    """Anisotropic, offset data (a non-trivial spectrum and a non-zero mean).

    Column scales run from 0.2 to 3.0 and every entry is shifted by 0.7, so centring, row
    normalisation and the choice of Gram side all change the spectrum.
    """
    rng = np.random.default_rng(seed)
    n, d = shape
    return rng.standard_normal((n, d)) * np.linspace(0.2, 3.0, d) + 0.7
