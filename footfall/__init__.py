"""footfall: real-time running gait monitoring (cadence and impact)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("footfall")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
