"""The code's layering: tasks/ stands alone, its light modules change nothing when imported, modules stay small."""

import ast
import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
#: Packages `tasks` must never import: it runs on workers that may have neither.
FORBIDDEN_FOR_TASKS = ("producer", "worker")
#: What the pure image core (tasks/image/) may import from tasks: itself, the error codes and the settings' constants.
CORE_MAY_IMPORT = ("tasks.image", "tasks.errors", "tasks.settings")
#: Libraries the image core must not touch: it knows nothing of queues, brokers or storage.
CORE_FORBIDDEN_LIBRARIES = ("celery", "kombu", "redis", "boto3", "botocore", "msgpack")
#: The project's packages.
PACKAGES = ("tasks", "producer", "worker")
#: STYLE.md: one concern per module, well under 300 lines.
MAX_MODULE_LINES = 300


def imported_modules(path: pathlib.Path, with_names: bool = False) -> set[str]:
    """The modules `path` imports anywhere in its body; `with_names`: also `pkg.name` for `from pkg import name`
    (which may be a sub-module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if with_names:
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_no_tasks_module_imports_producer_or_worker():
    offenders = {
        f"{path.relative_to(REPO)} imports {name}"
        for path in sorted((REPO / "tasks").rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN_FOR_TASKS
    }
    assert not offenders


def test_the_image_core_imports_no_celery_no_wire_format_and_no_file_reader():
    # The core is bytes or pixels in, hashes out: the task layer imports it, never the reverse
    core = sorted((REPO / "tasks" / "image").rglob("*.py"))
    assert len(core) >= 8
    offenders = {
        f"{path.relative_to(REPO)} imports {name}"
        for path in core
        for name in imported_modules(path)
        if name.split(".")[0] in CORE_FORBIDDEN_LIBRARIES
        or (name.startswith("tasks") and not name.startswith(CORE_MAY_IMPORT))
    }
    assert not offenders


def test_every_sub_package_says_what_it_holds_in_its_docstring():
    packages = [p for d in PACKAGES for p in (REPO / d).rglob("__init__.py")]
    assert len(packages) >= 9
    assert not [str(p.relative_to(REPO)) for p in packages if not ast.get_docstring(ast.parse(p.read_text()))]


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each project module -> the project modules it imports anywhere in its body (`from pkg import mod`
    counted as an import of pkg.mod)."""
    paths = {module_name(p): p for d in PACKAGES for p in (REPO / d).rglob("*.py")}
    return {name: {e for e in imported_modules(path, with_names=True)
                   if e in paths and e != name and not name.startswith(e + ".")}
            for name, path in paths.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_two_modules_import_each_other_even_inside_functions():
    assert import_cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_the_import_checker_sees_an_import_of_worker(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from worker.procs import spawn\n")
    assert "worker.procs" in imported_modules(module)


def test_importing_what_the_producer_uses_from_tasks_loads_no_decoder_and_sets_nothing():
    # Given a fresh interpreter, When it imports the modules the producer needs from tasks
    probe = (
        "import os, sys, json; before = dict(os.environ); "
        "import tasks, tasks.image.algos, tasks.ids, tasks.pathblob, tasks.settings, tasks.errors; "
        "from celery.signals import worker_process_init; "
        "print(json.dumps({'changed': sorted(k for k in os.environ if os.environ.get(k) != before.get(k)), "
        "'cv2': 'cv2' in sys.modules, 'numpy': 'numpy' in sys.modules, "
        "'receivers': len(worker_process_init.receivers or [])}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=60)
    # Then no environment variable changed, no decoder or numpy was loaded and no signal was connected
    assert json.loads(out.stdout) == {"changed": [], "cv2": False, "numpy": False, "receivers": 0}


def test_the_worker_app_sets_the_pixel_limit_from_settings_before_opencv_loads():
    probe = (
        "import os, tasks; app = tasks.celery; import cv2; from celery.signals import worker_process_init; "
        "from tasks.image import decode; "
        "print(os.environ['OPENCV_IO_MAX_IMAGE_PIXELS'], decode.MAX_PIXELS, os.environ['OPENBLAS_NUM_THREADS'], "
        "len(worker_process_init.receivers))"
    )
    env = {"PATH": "/usr/bin:/bin", "HASHFLEET_MAX_PIXELS": "1234567", "OPENCV_IO_MAX_IMAGE_PIXELS": "99"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=60, env=env)
    assert out.stdout.split() == ["1234567", "1234567", "1", "1"]


def test_every_module_is_under_the_size_limit():
    modules = [p for d in PACKAGES for p in (REPO / d).rglob("*.py")]
    assert modules
    lines = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in modules}
    too_long = {name: n for name, n in lines.items() if n > MAX_MODULE_LINES}
    assert not too_long


def module_marks(path: pathlib.Path) -> str:
    """The source of a module's top-level `pytestmark = ...` ('' without one)."""
    return "".join(ast.unparse(node) for node in ast.parse(path.read_text()).body
                   if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets))


def test_every_integration_test_module_marks_its_tests_as_integration():
    # pytest reads `pytestmark` from test modules only (not from conftest.py), so each module says it
    modules = sorted((REPO / "tests" / "integration").glob("test_*.py"))
    assert modules
    assert not [path.name for path in modules if "pytest.mark.integration" not in module_marks(path)]


def test_the_cli_starts_without_loading_numpy_opencv_or_celerys_app():
    # Every `hashfleet run` imports the whole CLI before it publishes: the decoders and numpy load later,
    # only in the commands that need them (start-up time is part of every job's time, bench/RESULTS.md),
    # and Celery's app machinery once embedded mode's workers are already starting
    probe = ("import sys; import producer.cli.main; from producer.cli import jobs, near; "
             "print(sorted(m for m in ('cv2', 'numpy', 'boto3', 'celery.app', 'kombu') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=60)
    assert out.stdout.strip() == "[]"
