"""sptmotion: learn motion models (anomalous diffusion) from single-particle-tracking data.

Data flows one way through the subpackages::

    motion -> optics -> tracking -> represent -> learn -> cli / report
                 \\-> likelihood (joins optics and motion)

``datasets`` holds generators (AnDi-style) and loaders (experimental data, track tables).
Units: positions in µm, time in s, D in µm²/s (Dα in µm²/s^alpha), photons, ADU.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
