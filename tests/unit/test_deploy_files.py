"""Deployment files: compose, Kubernetes and systemd parse, and keep their safety properties.

These read the files only; nothing here needs Docker, a cluster or systemd.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex

import pytest
import yaml  # in the test extra: missing, this module fails to import rather than skip

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
SYSTEMD = os.path.join(DEPLOY, "systemd")

#: A compose variable that must be set: ${NAME:?message} (unset or empty stops compose).
REQUIRED = r"\$\{%s:\?[^}]+\}"


def read(*parts: str) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def command_line(command) -> str:
    """A compose/k8s command (string or list) as one line of words."""
    return command if isinstance(command, str) else " ".join(str(word) for word in command)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(read("docker-compose.yml"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def k8s_documents() -> list[tuple[str, dict]]:
    docs = []
    for folder, _, names in sorted(os.walk(K8S)):
        for name in sorted(names):
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    docs += [(name, d) for d in yaml.safe_load_all(f) if d]
    return docs


def k8s_object(kind: str, name: str) -> dict:
    found = [d for _, d in k8s_documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(workload: dict) -> dict:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    with open(os.path.join(SYSTEMD, name), encoding="utf-8") as f:
        parser.read_file(f)
    return parser


# --- docker-compose.yml -------------------------------------------------------------------------------


def test_compose_defines_redis_worker_flower_and_a_one_off_producer(services):
    assert {"redis", "worker", "flower", "producer"} <= set(services)
    for name in ("worker", "flower", "producer"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert {"image", "command", "environment"} <= set(services[name])
    assert services["producer"]["profiles"] == ["producer"], "`up` must not start the producer"
    assert {"image", "command", "healthcheck", "volumes"} <= set(services["redis"])


def test_compose_redis_keeps_an_append_only_file_and_requires_a_password(services):
    words = services["redis"]["command"]
    line = command_line(words)
    assert words[0] == "redis-server"
    assert words[words.index("--appendonly") + 1] == "yes"
    assert words[words.index("--maxmemory-policy") + 1] == "noeviction"
    password = words[words.index("--requirepass") + 1]
    assert re.fullmatch(REQUIRED % "REDIS_PASSWORD", password), line
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"]), "AOF must be on a volume"


def test_compose_redis_healthcheck_authenticates_and_gates_the_other_services(services):
    assert "redis-cli" in command_line(services["redis"]["healthcheck"]["test"])
    assert services["redis"]["environment"]["REDISCLI_AUTH"] == "${REDIS_PASSWORD}"
    for name in ("worker", "flower", "producer"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_worker_runs_a_prefork_celery_worker_of_the_tasks_app(services):
    line = command_line(services["worker"]["command"])
    assert line.startswith("celery -A tasks worker")
    assert "--pool prefork" in line
    assert "--concurrency ${CELERY_WORKER_CONCURRENCY:-0}" in line


def test_compose_worker_broker_url_carries_the_required_redis_password(services):
    url = services["worker"]["environment"]["HASHFLEET_BROKER_URL"]
    assert url.startswith("redis://:")
    assert re.search(REQUIRED % "REDIS_PASSWORD", url)


def test_compose_worker_mounts_the_images_read_only_at_the_same_path_and_allows_only_them(services):
    worker = services["worker"]
    mounts = [v for v in worker["volumes"] if "IMAGES_DIR" in v]
    assert len(mounts) == 1
    source, target, mode = re.fullmatch(r"(\$\{[^}]+\}):(\$\{[^}]+\}):(\w+)", mounts[0]).groups()
    assert source == target and re.fullmatch(REQUIRED % "IMAGES_DIR", source)
    assert mode == "ro"
    assert re.fullmatch(REQUIRED % "IMAGES_DIR", worker["environment"]["HASHFLEET_ALLOWED_ROOTS"])


def test_compose_worker_can_be_scaled_and_is_given_time_for_a_warm_shutdown(services):
    worker = services["worker"]
    assert "replicas" in worker["deploy"]
    assert "container_name" not in worker, "a fixed name would break --scale"
    assert not worker.get("ports"), "published ports would break --scale"
    minutes = int(re.fullmatch(r"(\d+)m", worker["stop_grace_period"]).group(1))
    assert minutes * 60 > 600 + 60, "must outlast the default soft time limit plus the hard-limit margin"


def test_compose_flower_refuses_to_start_without_basic_auth(services):
    flower = services["flower"]
    assert re.fullmatch(REQUIRED % "FLOWER_BASIC_AUTH", flower["environment"]["FLOWER_BASIC_AUTH"])
    line = command_line(flower["command"])
    # In-container guard too ($$ is compose's escape for a literal $ seen by the shell).
    assert 'test -n "$${FLOWER_BASIC_AUTH}"' in line and "exit 1" in line
    assert line.index("test -n") < line.index("exec celery -A tasks flower")


def test_compose_flower_serves_port_5555_on_loopback_unless_told_otherwise(services):
    assert services["flower"]["ports"] == ["${FLOWER_BIND:-127.0.0.1}:5555:5555"]
    assert "--port=5555" in command_line(services["flower"]["command"])


def test_compose_passes_no_other_flower_variables_because_flower_rejects_unknown_ones(services):
    flower_vars = [k for k in services["flower"]["environment"] if k.startswith("FLOWER_")]
    assert flower_vars == ["FLOWER_BASIC_AUTH"]


def test_compose_producer_sees_the_images_at_the_same_path_and_writes_to_a_mounted_folder(services):
    producer = services["producer"]
    assert any(re.fullmatch(r"\$\{IMAGES_DIR:\?[^}]+\}:\$\{IMAGES_DIR:\?[^}]+\}:ro", v)
               for v in producer["volumes"])
    assert any(v.endswith(":/out") for v in producer["volumes"])
    assert producer["working_dir"] == "/out"
    assert command_line(producer["command"]).startswith("hashfleet ")


def strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def test_compose_env_example_names_every_required_variable(compose):
    example = read("deploy", "compose.env.example")
    required = {name for text in strings(compose) for name in re.findall(r"\$\{(\w+):\?", text)}
    assert required == {"REDIS_PASSWORD", "FLOWER_BASIC_AUTH", "IMAGES_DIR"}
    for name in required:
        assert re.search(rf"^{name}=", example, re.M), f"{name} missing from deploy/compose.env.example"


# --- deploy/Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_installs_the_package_on_python_3_11_slim_and_runs_as_non_root():
    text = read("deploy", "Dockerfile")
    froms = re.findall(r"^FROM (\S+)", text, re.M)
    assert froms and all(f == "python:3.11-slim" for f in froms)
    assert re.search(r"^RUN .*\n?.*pip install", text, re.M)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_dockerfile_default_command_is_a_prefork_worker_with_concurrency_from_the_environment():
    cmd = re.findall(r"^CMD (.+)$", read("deploy", "Dockerfile"), re.M)[-1]
    words = yaml.safe_load(cmd)  # exec form is a JSON array
    line = " ".join(words)
    assert words[:2] == ["sh", "-c"] and line.split("exec ", 1)[1].startswith("celery -A tasks worker")
    assert "--pool prefork" in line and "${CELERY_WORKER_CONCURRENCY:-0}" in line


def test_docker_build_context_leaves_out_secrets_and_caches():
    ignored = read("deploy", "Dockerfile.dockerignore").split()
    assert {".env", ".git"} <= set(ignored)


# --- deploy/k8s ---------------------------------------------------------------------------------------


def test_k8s_manifests_parse_and_every_document_has_kind_and_name():
    docs = k8s_documents()
    assert docs
    for name, doc in docs:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), name


def test_k8s_has_the_redis_worker_flower_and_secret_objects():
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in k8s_documents()}
    assert {("StatefulSet", "hashfleet-redis"), ("Service", "hashfleet-redis"),
            ("Deployment", "hashfleet-worker"), ("Deployment", "hashfleet-flower"),
            ("Service", "hashfleet-flower"), ("Secret", "hashfleet")} <= kinds


def test_k8s_secret_example_is_not_applied_with_the_folder():
    top_level = [n for n in os.listdir(K8S) if n.endswith((".yaml", ".yml"))]
    for name in top_level:
        with open(os.path.join(K8S, name), encoding="utf-8") as f:
            assert all(d["kind"] != "Secret" for d in yaml.safe_load_all(f) if d), name


def test_k8s_flower_takes_basic_auth_from_a_secret_and_refuses_an_empty_one():
    flower = container(k8s_object("Deployment", "hashfleet-flower"))
    env = {e["name"]: e for e in flower["env"]}
    ref = env["FLOWER_BASIC_AUTH"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "hashfleet", "key": "FLOWER_BASIC_AUTH"}  # not optional: pod will not start
    line = command_line(flower["command"])
    assert 'test -n "${FLOWER_BASIC_AUTH}"' in line and "exec celery -A tasks flower" in line
    pod = k8s_object("Deployment", "hashfleet-flower")["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False


def test_k8s_worker_is_a_non_root_prefork_worker_with_the_broker_from_the_secret():
    deployment = k8s_object("Deployment", "hashfleet-worker")
    pod = deployment["spec"]["template"]["spec"]
    worker = container(deployment)
    assert command_line(worker["command"]).startswith("celery -A tasks worker --pool prefork")
    env = {e["name"]: e for e in worker["env"]}
    assert env["HASHFLEET_BROKER_URL"]["valueFrom"]["secretKeyRef"]["name"] == "hashfleet"
    mount = next(m for m in worker["volumeMounts"] if m["name"] == "images")
    assert mount["readOnly"] is True and env["HASHFLEET_ALLOWED_ROOTS"]["value"] == mount["mountPath"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] > 600 + 60


def test_k8s_redis_keeps_an_append_only_file_on_a_volume_and_requires_the_secret_password():
    statefulset = k8s_object("StatefulSet", "hashfleet-redis")
    redis = container(statefulset)
    args = redis["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    env = {e["name"]: e for e in redis["env"]}
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "REDIS_PASSWORD"
    assert {"name": "data", "mountPath": "/data"} in redis["volumeMounts"]
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"


# --- deploy/systemd -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["hashfleet-worker@.service", "hashfleet-flower.service"])
def test_systemd_units_parse_and_start_celery_with_the_tasks_app(name):
    service = unit(name)["Service"]
    assert "celery -A tasks" in service["ExecStart"]
    assert shlex.split(service["ExecStart"])[0].startswith("/"), "ExecStart needs an absolute path"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_worker_template_takes_concurrency_from_the_instance_name():
    service = unit("hashfleet-worker@.service")["Service"]
    args = shlex.split(service["ExecStart"])
    assert args[1:5] == ["-A", "tasks", "worker", "--pool"] and args[5] == "prefork"
    assert args[args.index("--concurrency") + 1] == "%i"
    assert service["EnvironmentFile"] == "/etc/hashfleet/worker.env"
    assert "ReadOnlyPaths" in service


def test_systemd_worker_stops_with_a_warm_shutdown_that_can_finish_the_longest_chunk():
    service = unit("hashfleet-worker@.service")["Service"]
    assert service["KillMode"] == "mixed"
    assert int(service["TimeoutStopSec"]) > 600 + 60


def test_systemd_flower_refuses_to_start_without_basic_auth():
    text = read("deploy", "systemd", "hashfleet-flower.service")
    assert "EnvironmentFile=/etc/hashfleet/flower.env" in text
    pre = unit("hashfleet-flower.service")["Service"]["ExecStartPre"]
    # $$ is systemd's escape for a literal $, so the shell (not systemd) reads the variable.
    assert 'test -n "$${FLOWER_BASIC_AUTH}"' in pre and "exit 1" in pre
    assert "--basic-auth" not in unit("hashfleet-flower.service")["Service"]["ExecStart"]


def test_systemd_env_examples_name_the_broker_roots_and_flower_auth():
    worker_env = read("deploy", "systemd", "worker.env.example")
    assert re.search(r"^HASHFLEET_BROKER_URL=redis://:", worker_env, re.M)
    assert re.search(r"^HASHFLEET_ALLOWED_ROOTS=/", worker_env, re.M)
    assert re.search(r"^FLOWER_BASIC_AUTH=$", read("deploy", "systemd", "flower.env.example"), re.M)


# --- deploy/redis -------------------------------------------------------------------------------------


def test_redis_conf_example_is_durable_password_protected_and_never_evicts():
    directives = {}
    for line in read("deploy", "redis", "redis.conf.example").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            directives[key] = value
    assert directives["appendonly"] == "yes"
    assert directives["appendfsync"] == "everysec"
    assert directives["maxmemory-policy"] == "noeviction"
    assert directives["protected-mode"] == "yes"
    assert directives["requirepass"]
