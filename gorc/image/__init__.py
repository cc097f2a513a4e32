"""Images in: references, sources, layers, the squashed filesystem, the inventory."""
