"""Functions the compute benchmark runs in worker processes (importable by name, so the
local compute provider and ``ProcessPoolExecutor.map`` ship them the same way)."""


def increment(x: int) -> int:
    """A trivial task: the benchmark measures dispatch, not work."""
    return x + 1
