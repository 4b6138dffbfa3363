"""Reading an input file's bytes on a worker: local paths and s3:// objects."""
