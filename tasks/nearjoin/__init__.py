"""The near-duplicate join over hash tables: the pure join, its wire format, storage and tasks."""
