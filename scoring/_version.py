"""Engine version: stamped on every score output."""

__version__ = "0.1.0"
