"""hivepulse: data-driven, blameless retros and honest profiling for HiveBox teams."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hivepulse")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
