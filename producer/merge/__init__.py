"""The job's merge, run by the producer over the chunk results it drained: exact-duplicate groups on disk."""
