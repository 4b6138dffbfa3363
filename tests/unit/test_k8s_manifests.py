"""Kubernetes manifests: every core object is valid for Kubernetes, the KEDA objects use only fields KEDA
documents, the autoscaler watches the list the workers consume, and no Service leaves the cluster.

Reads the files only; no cluster needed. Core kinds are checked with kubernetes-validate (the
Kubernetes OpenAPI schemas). KEDA publishes its CRDs but no schema package reachable from here, so
its fields are checked against the lists below, written from KEDA's documented schema.
"""

from __future__ import annotations

import os

import kubernetes_validate
import pytest
import yaml

from tasks.app import HARD_LIMIT_MARGIN
from tasks.settings import DEFAULT_FILE_TIMEOUT, DEFAULT_QUEUE, DEFAULT_SOFT_TIME_LIMIT

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(ROOT, "deploy", "k8s")
#: Kubernetes versions the manifests must be valid for: the oldest still in wide use, and the newest
#: kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.28.0", kubernetes_validate.latest_version())
KEDA_API = "keda.sh/v1alpha1"
#: The longest a chunk can run before its hard time limit kills it (tasks/app.py).
LONGEST_CHUNK = DEFAULT_SOFT_TIME_LIMIT + DEFAULT_FILE_TIMEOUT + HARD_LIMIT_MARGIN

# KEDA 2.x fields, from keda.sh: "ScaledObject specification" (docs/2.x/reference/scaledobject-spec),
# "Authentication" (docs/2.x/concepts/authentication) and the "Redis Lists" scaler
# (docs/2.x/scalers/redis-lists). A name here that KEDA does not know would be dropped by the API server
# (unknown CRD fields are pruned), so a typo would silently do nothing: hence the check.
SCALED_OBJECT_SPEC = {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
                      "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback", "advanced",
                      "triggers"}
SCALE_TARGET_REF = {"apiVersion", "kind", "name", "envSourceContainerName"}
TRIGGER = {"type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"}
AUTHENTICATION_REF = {"name", "kind"}
#: Metadata of `type: redis` (Redis Lists). Every value is a string.
REDIS_LIST_METADATA = {"address", "host", "port", "addressFromEnv", "hostFromEnv", "portFromEnv",
                       "usernameFromEnv", "passwordFromEnv", "listName", "listLength",
                       "activationListLength", "enableTLS", "unsafeSsl", "databaseIndex"}
REDIS_LIST_REQUIRED = {"listName", "listLength"}
#: Parameters the Redis scalers take from a TriggerAuthentication (besides the TLS ones, unused here).
REDIS_AUTH_PARAMETERS = {"username", "password"}
TRIGGER_AUTHENTICATION_SPEC = {"podIdentity", "secretTargetRef", "env", "configMapTargetRef",
                               "hashiCorpVault", "azureKeyVault", "awsSecretManager", "gcpSecretManager",
                               "boundServiceAccountToken"}
SECRET_TARGET_REF = {"parameter", "name", "key"}


def documents() -> list[tuple[str, dict]]:
    """(file path relative to deploy/k8s, object) for every object under deploy/k8s, examples too."""
    found = []
    for folder, _, names in sorted(os.walk(K8S)):
        for name in sorted(names):
            if name.endswith((".yaml", ".yml")):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as handle:
                    found += [(os.path.relpath(path, K8S), d) for d in yaml.safe_load_all(handle) if d]
    return found


def the(kind: str, name: str | None = None) -> dict:
    found = [d for _, d in documents() if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def unknown(fields: dict, allowed: set[str]) -> set[str]:
    return set(fields) - allowed


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_object_is_valid_for_kubernetes_with_no_unknown_field(version):
    core = [(path, d) for path, d in documents() if d["apiVersion"] != KEDA_API]
    assert len(core) >= 6
    invalid = []
    for path, doc in core:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            invalid.append(f"{path}: {doc['kind']} {doc['metadata']['name']}: {exc.message} "
                           f"at {'.'.join(map(str, exc.path)) or 'top level'}")
    assert not invalid, f"not valid for Kubernetes {version}:\n" + "\n".join(invalid)


def test_the_only_objects_kubernetes_validate_cannot_check_are_kedas():
    version = KUBERNETES_VERSIONS[-1]
    unchecked = []
    for path, doc in documents():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unchecked.append((path, doc["apiVersion"]))
        except kubernetes_validate.ValidationError:
            pass  # reported by the test above
    assert unchecked and {api for _, api in unchecked} == {KEDA_API}, unchecked


def test_keda_objects_live_in_their_own_folder_so_applying_deploy_k8s_needs_no_keda():
    for path, doc in documents():
        assert (doc["apiVersion"] == KEDA_API) == path.startswith("keda" + os.sep), path


def test_the_scaled_object_uses_only_documented_keda_fields():
    scaled = the("ScaledObject")
    assert scaled["apiVersion"] == KEDA_API
    spec = scaled["spec"]
    assert not unknown(spec, SCALED_OBJECT_SPEC)
    assert not unknown(spec["scaleTargetRef"], SCALE_TARGET_REF) and spec["scaleTargetRef"]["name"]
    for field in ("pollingInterval", "cooldownPeriod", "minReplicaCount", "maxReplicaCount"):
        assert isinstance(spec[field], int) and spec[field] >= 0, field
    (trigger,) = spec["triggers"]
    assert not unknown(trigger, TRIGGER)
    assert trigger["type"] == "redis"
    assert not unknown(trigger["metadata"], REDIS_LIST_METADATA)
    assert REDIS_LIST_REQUIRED <= set(trigger["metadata"])
    assert all(isinstance(v, str) for v in trigger["metadata"].values()), "KEDA metadata values are strings"
    assert not unknown(trigger["authenticationRef"], AUTHENTICATION_REF)


def test_the_trigger_authentication_uses_only_documented_keda_fields():
    auth = the("TriggerAuthentication")
    assert auth["apiVersion"] == KEDA_API
    assert not unknown(auth["spec"], TRIGGER_AUTHENTICATION_SPEC)
    for ref in auth["spec"]["secretTargetRef"]:
        assert set(ref) == SECRET_TARGET_REF
        assert ref["parameter"] in REDIS_AUTH_PARAMETERS


def test_the_worker_deployment_scales_on_the_redis_list_its_workers_consume():
    spec = the("ScaledObject")["spec"]
    (trigger,) = spec["triggers"]
    worker = the("Deployment", spec["scaleTargetRef"]["name"])
    assert worker["metadata"]["name"] == "hashfleet-worker"
    assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    # The worker sets no HASHFLEET_QUEUE, so it consumes the default queue: kombu keeps a queue without
    # priorities in one Redis list of the queue's name.
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert "HASHFLEET_QUEUE" not in {e["name"] for e in container["env"]}
    assert trigger["metadata"]["listName"] == DEFAULT_QUEUE
    # The same Redis and database as HASHFLEET_BROKER_URL in the example Secret
    broker = the("Secret", "hashfleet")["stringData"]["HASHFLEET_BROKER_URL"]
    redis_service = the("Service", "hashfleet-redis")
    host, port = trigger["metadata"]["address"].rsplit(":", 1)
    assert host.split(".")[0] == redis_service["metadata"]["name"] and host.endswith(".svc.cluster.local")
    assert int(port) == redis_service["spec"]["ports"][0]["port"]
    assert broker.endswith(f"@hashfleet-redis:{port}/{trigger['metadata']['databaseIndex']}")


def test_the_autoscaler_reads_the_redis_password_from_the_secret_redis_uses():
    (trigger,) = the("ScaledObject")["spec"]["triggers"]
    auth = the("TriggerAuthentication", trigger["authenticationRef"]["name"])
    (ref,) = auth["spec"]["secretTargetRef"]
    (redis,) = the("StatefulSet", "hashfleet-redis")["spec"]["template"]["spec"]["containers"]
    redis_password = next(e for e in redis["env"] if e["name"] == "REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]
    assert ref == {"parameter": "password", "name": redis_password["name"], "key": redis_password["key"]}
    assert ref["key"] in the("Secret", ref["name"])["stringData"]
    assert "password" not in {k.lower() for k in trigger["metadata"]}, "no password in the ScaledObject"


def test_the_autoscaler_wakes_on_one_waiting_message_and_scales_to_zero_only_after_the_longest_chunk():
    spec = the("ScaledObject")["spec"]
    metadata = spec["triggers"][0]["metadata"]
    # KEDA activates when the list is longer than activationListLength: one waiting chunk (or the
    # merge alone) must bring a worker up from zero.
    assert spec["minReplicaCount"] == 0 and metadata["activationListLength"] == "0"
    assert int(metadata["listLength"]) >= 1
    assert spec["maxReplicaCount"] > spec["minReplicaCount"]
    # Running chunks are not in the list: going to zero before the longest one can have finished would
    # stop workers in the middle of their chunks (a warm shutdown, but a wasted wait).
    assert spec["cooldownPeriod"] > LONGEST_CHUNK


def test_no_service_is_reachable_from_outside_the_cluster():
    for path, doc in documents():
        if doc["kind"] == "Service":
            spec = doc["spec"]
            assert spec.get("type", "ClusterIP") == "ClusterIP", f"{path}: {doc['metadata']['name']}"
            assert not spec.get("externalIPs") and all("nodePort" not in p for p in spec["ports"]), path
        template = doc.get("spec", {}).get("template", {}).get("spec", {})
        assert not template.get("hostNetwork"), path
        for container in template.get("containers", []):
            assert all("hostPort" not in p for p in container.get("ports", [])), path


def test_flower_is_a_cluster_ip_service_reached_with_port_forward():
    service = the("Service", "hashfleet-flower")
    assert service["spec"]["type"] == "ClusterIP"
    assert not [d for _, d in documents() if d["kind"] == "Ingress"], "an Ingress would need TLS and is yours"
