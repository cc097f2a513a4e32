"""gorc: will this Go program really run in this container image, and why not."""

__version__ = "0.1.0"
