"""Vesalius: a self-hosted medical and scientific imaging hub."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vesalius")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
