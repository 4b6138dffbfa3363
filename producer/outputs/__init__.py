"""Output files: records written and read back (CSV, JSONL, SQLite, Parquet) and group files."""
