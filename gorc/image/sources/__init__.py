"""Image sources: engine, docker-archive, OCI layout, registry."""
