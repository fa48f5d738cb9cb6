"""footfall: real-time running gait monitoring (cadence and impact)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("footfall")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"


def compiled() -> bool:
    """Whether this is the compiled build (scripts/build-compiled: the processor's hot path
    compiled by mypyc; docs/architecture.md) rather than plain Python."""
    import importlib.machinery
    import importlib.util

    # how the router is installed, found without importing it (the root package is below
    # every layer)
    spec = importlib.util.find_spec("footfall.processing.router")
    return spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)
