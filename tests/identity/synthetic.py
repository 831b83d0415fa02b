"""Random but realistic face templates, shaped like dlib's 128-d descriptors of the test faces.

Measured on tests/data/faces (dlib-bin 20.0.1): norms about 1.4, components of spread about
0.12, two photos of one person at about 0.35, two people at about 0.85. The people here differ
along a decaying spectrum of directions (as real embeddings do, and harder for an index than a
few clusters), and each photo adds its own small noise.
"""

from __future__ import annotations

import numpy as np

DIMENSIONS = 128
SAME_PERSON = 0.35
TWO_PEOPLE = 0.85


class Population:
    """People with one enrolled template each; `photo()` gives another photo of any of them."""

    def __init__(self, people: int, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        mean = self.rng.normal(size=DIMENSIONS)
        self.mean = (mean / np.linalg.norm(mean) * 1.2).astype(np.float32)
        spectrum = 1.0 / np.sqrt(np.arange(1, DIMENSIONS + 1))
        basis, _ = np.linalg.qr(self.rng.normal(size=(DIMENSIONS, DIMENSIONS)))
        # Scaled so two people lie TWO_PEOPLE apart on average (E|a-b|² = 2·Σσ²).
        spread = spectrum * (TWO_PEOPLE / np.sqrt(2 * np.sum(spectrum**2)))
        self.basis = (basis * spread).astype(np.float32)
        self.identities = self.rng.normal(size=(people, DIMENSIONS)).astype(np.float32)
        self.noise = SAME_PERSON / np.sqrt(2 * DIMENSIONS)
        self.enrolled = self.photo(np.arange(people))

    def photo(self, people: np.ndarray) -> np.ndarray:
        """A fresh photo's template for each of these people (rows of float32)."""
        faces = self.mean + self.identities[people] @ self.basis.T
        noise = self.rng.normal(scale=self.noise, size=faces.shape)
        return (faces + noise).astype(np.float32)


def exact_nearest(gallery: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """The row of `gallery` nearest to each probe, by brute force (the reference answer)."""
    squared = (
        (probes**2).sum(axis=1)[:, None]
        - 2 * probes @ gallery.T
        + (gallery**2).sum(axis=1)[None, :]
    )
    return np.argmin(squared, axis=1)
