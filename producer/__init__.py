"""The `hashfleet` CLI: enumerate files, chunk, enqueue one chord, follow progress, write outputs."""
