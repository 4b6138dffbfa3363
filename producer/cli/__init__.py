"""The `hashfleet` command line: one module per command family, options mapped onto Settings."""
