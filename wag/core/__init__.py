"""Floor 1: errors, paths, atomic I/O, caches, manifests, checks at the door, table contracts."""
