"""Everything that runs on workers: `celery -A tasks worker` finds the app here (as `tasks.celery`)."""

# The bootstrap sets the OpenCV pixel limit and one BLAS thread before anything imports cv2 or numpy.
from worker import bootstrap as _bootstrap  # noqa: F401


def __getattr__(name: str):
    """Build the app from HASHFLEET_* on first use. Celery's `-A tasks` looks up `tasks.celery` (`tasks.app`
    is the module that builds it); a bad setting then stops the worker at start with its message, while
    the CLI, which imports light tasks modules (spec, wire, store), reports it as one line and never
    loads the decoders."""
    if name == "celery":
        from tasks import chunk, merge  # noqa: F401  (define the tasks; the producer never loads these)
        from tasks.app import create_app

        app = globals()["celery"] = create_app()
        return app
    raise AttributeError(f"module 'tasks' has no attribute {name!r}")
