"""The command line: one module per command, wired in :mod:`gorc.cli.main`."""
