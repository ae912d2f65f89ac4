"""Studies: paper reproductions and the library code of the benchmarks (above ``analysis``).

- :mod:`.likelihood_sweep`: the decomposed likelihood across settings (Hendrix, Xu & Pressé 2025);
- :mod:`.classification_bias`: what measurement does to a model verdict;
- :mod:`.andi`: the AnDi learning benchmark (data efficiency, Wang, Zhang & Huang 2025);
- :mod:`.motion_demo`: motion models side by side.
"""
