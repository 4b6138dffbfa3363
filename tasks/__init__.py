"""Everything that runs on workers: `celery -A tasks worker` finds the app here (as `tasks.celery`).

Importing this package, or its light modules (algos, ids, pathblob, settings), loads no decoder and
changes nothing in the process; `tasks` never imports `producer` or `worker`.
"""


def __getattr__(name: str):
    """Build the worker app from HASHFLEET_* on first use (Celery's `-A tasks` looks up `tasks.celery`);
    a bad setting then stops the worker at start with its message."""
    if name == "celery":
        from tasks.app import create_worker_app

        app = globals()["celery"] = create_worker_app()
        return app
    raise AttributeError(f"module 'tasks' has no attribute {name!r}")
