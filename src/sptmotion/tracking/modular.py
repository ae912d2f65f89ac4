"""(being written)"""


def track_modular(*a, **k):
    raise NotImplementedError
