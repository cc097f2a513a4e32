"""One error hierarchy for everything gorc refuses to do.

Every error a user can cause (a bad reference, a corrupt archive, a missing
engine) is a :class:`GorcError`; the CLI prints its message on one line and
exits with code 2. Third-party errors are wrapped with ``raise ... from err``.
"""


class GorcError(Exception):
    """Base of every error gorc raises on purpose."""


class UsageError(GorcError):
    """The command line asks for something that cannot be done."""


class ImageReferenceError(GorcError):
    """An image reference cannot be parsed."""


class ImageSourceError(GorcError):
    """An image source cannot be opened or read (engine, archive, registry, dir)."""


class LayerError(ImageSourceError):
    """A layer blob is damaged: bad digest, truncated stream, unknown media type."""


class BinaryError(GorcError):
    """A binary cannot be read as ELF or its build info is damaged."""


class AnalysisError(GorcError):
    """Source or Dockerfile analysis cannot go on."""
