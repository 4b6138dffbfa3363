"""The pure image core: bytes or pixels in, hashes out (no Celery, no paths, no wire format)."""
