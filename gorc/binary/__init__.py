"""Binaries: ELF linkage, Go build info, loader resolution, runnable verdicts."""
