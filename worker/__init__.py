"""Worker bootstrap (signals, per-node settings) and local process management (embedded mode)."""
