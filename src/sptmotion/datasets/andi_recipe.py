"""AnDi-1 challenge recipe (being written)."""


def andi(*args, **kwargs):
    raise NotImplementedError("datasets.andi is being written")
