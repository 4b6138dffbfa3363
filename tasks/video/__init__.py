"""Video files on the workers: probe a container, sample frames at chosen times, hash each frame with the
image core. No Celery here: the task layer calls these."""
