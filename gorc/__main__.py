"""Allow ``python -m gorc``."""

from gorc.cli.main import run

run()
