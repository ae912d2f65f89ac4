"""Experimental track loaders (being written)."""


def load_granik2019(*args, **kwargs):
    raise NotImplementedError("load_granik2019 is being written")
