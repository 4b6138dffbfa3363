"""The producer's side of videos: probe headers in child processes, plan tasks, reuse unchanged ones."""
