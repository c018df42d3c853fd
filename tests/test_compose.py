"""docker-compose.yml, the Dockerfile and .env.example, checked where no Docker engine runs: the compose file
against the Compose Specification's JSON schema, and every setting of config.Settings against the services
that need it."""

import base64
import json
import os
import re
import tomllib
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import yaml

from referrals import temporal_environment
from referrals.codec import parse_keys
from referrals.config import ROOT, Settings
from referrals.domain import search_attributes
from tests.support.setting_names import clear_settings_environment, setting_env_names

# ../shared beside the clone has the schema; tests/compose-spec.json is a copy of it for clones without
# ../shared (compose-spec/compose-spec, schema/compose-spec.json, Apache-2.0).
SHARED_SCHEMA = ROOT.parent / "shared" / "compose-spec.json"
VENDORED_SCHEMA = ROOT / "tests" / "compose-spec.json"
APP_SERVICES = ("migrate", "api", "worker")
# The empty lines of .env.example, filled in as an operator would.
SECRETS = {
    "POSTGRES_PASSWORD": "pgSuperSecret1",
    "REFERRALS_DB_PASSWORD": "appSecret2",
    "REFERRALS_ENCRYPTION_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
    "REFERRALS_ACTOR_KEYS": "a1:" + base64.b64encode(os.urandom(32)).decode(),
    "REFERRALS_EVIDENCE_S3_SECRET_KEY": "minioSecret3",
    "REFERRALS_SIGNING_CERTIFICATE_FILE": "/etc/referrals/signing-certificate.pem",
    "REFERRALS_SIGNING_KEY_FILE": "/etc/referrals/signing-key.pem",
}
# Compose refuses a "$" that starts none of "$$", "${NAME...}" and "$NAME".
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<bare>\w+)|(?P<invalid>))"
)
_ENV_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's substitution: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}."""

    def value(match: re.Match) -> str:
        escaped, braced, op, arg, bare, invalid = match.groups()
        if escaped:
            return "$"
        if invalid is not None:
            raise ValueError(f"invalid template: {text!r}")
        current = env.get(braced or bare)
        unset = current is None or (op is not None and op.startswith(":") and current == "")
        if unset and op in (":?", "?"):
            raise MissingVariable(braced)
        if unset and op in (":-", "-"):
            return arg
        return current or ""

    return _VARIABLE.sub(value, text)


def interpolated(node, env: dict[str, str]):
    if isinstance(node, dict):
        return {key: interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolated(value, env) for value in node]
    return interpolate(node, env) if isinstance(node, str) else node


def strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


def raw_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def env_example() -> tuple[dict[str, str], set[str]]:
    """The assignments of .env.example, and every name it gives, commented out or not."""
    active, named = {}, set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := _ENV_LINE.match(line):
            named.add(match[2])
            if not match[1]:
                active[match[2]] = match[3]
    return active, named


def stack_env() -> dict[str, str]:
    """What docker compose reads from .env once an operator has copied .env.example and filled it in."""
    active, _ = env_example()
    return {name: value or SECRETS[name] for name, value in active.items()}


def compose(env: dict[str, str] | None = None) -> dict:
    return interpolated(raw_compose(), stack_env() if env is None else env)


def container_env(service: dict, env: dict[str, str]) -> dict[str, str]:
    """A service's environment as its container gets it: a name without a value comes from .env, if there."""
    resolved = {}
    for name, value in service.get("environment", {}).items():
        if value is not None:
            resolved[name] = str(value)
        elif name in env:
            resolved[name] = env[name]
    return resolved


def compose_variables() -> set[str]:
    return {
        m["braced"] or m["bare"]
        for text in strings(raw_compose())
        for m in _VARIABLE.finditer(text)
        if m["braced"] or m["bare"]
    }


def published(service: dict) -> dict[int, tuple[str, int]]:
    """container port -> (host address, host port)"""
    ports = {}
    for spec in service.get("ports", []):
        address, host, container = spec.split(":")
        ports[int(container)] = (address, int(host))
    return ports


def settings_from(environ: dict[str, str], monkeypatch) -> Settings:
    clear_settings_environment(monkeypatch)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_the_compose_file_follows_the_compose_specification():
    schema = json.loads((SHARED_SCHEMA if SHARED_SCHEMA.exists() else VENDORED_SCHEMA).read_text())
    errors = [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"
        for e in jsonschema_rs.validator_for(schema).iter_errors(compose())
    ]
    assert errors == []


def test_the_vendored_schema_is_the_shared_one():
    if not SHARED_SCHEMA.exists():
        pytest.skip("no ../shared beside this clone")
    assert VENDORED_SCHEMA.read_bytes() == SHARED_SCHEMA.read_bytes()


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_run_without_each_secret(secret):
    env = {name: value for name, value in stack_env().items() if name != secret}
    with pytest.raises(MissingVariable) as refused:
        compose(env)
    assert str(refused.value) == secret
    with pytest.raises(MissingVariable):
        compose({**env, secret: ""})


def test_only_the_secrets_are_required_and_they_have_no_default():
    required = {
        m["braced"] for text in strings(raw_compose()) for m in _VARIABLE.finditer(text) if m["op"] in (":?", "?")
    }
    assert required == set(SECRETS)
    active, _ = env_example()
    assert {name for name, value in active.items() if not value} == set(SECRETS)


def test_env_example_names_every_setting_and_nothing_unknown():
    _, named = env_example()
    missing = [names[0] for names in setting_env_names() if not set(names) & named]
    assert missing == [], "add these settings to .env.example (and to the app services of docker-compose.yml)"
    known = {name for names in setting_env_names() for name in names} | compose_variables()
    assert named - known == set()
    assert compose_variables() - named == set(), "every variable docker-compose.yml reads is in .env.example"


def test_the_names_before_1_0_are_gone_from_the_configuration():
    """REFERRALS_TEMPORAL_ADDRESS and _NAMESPACE still work, with a warning, but no file of ours sets them."""
    _, named = env_example()
    compose_text = (ROOT / "docker-compose.yml").read_text()
    for old, new in temporal_environment.DEPRECATED.items():
        assert old not in named and old not in compose_text, f"{old}: use {new}"
        assert new in named
    for service in APP_SERVICES:
        assert not set(temporal_environment.DEPRECATED) & set(raw_compose()["services"][service]["environment"])


def test_env_example_explains_each_line():
    lines = (ROOT / ".env.example").read_text().splitlines()
    for above, line in zip(lines, lines[1:]):
        if _ENV_LINE.match(line):
            assert above.startswith("#") and not _ENV_LINE.match(above), f"no comment above {line!r}"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_every_setting_reaches_the_application_services(service):
    environment = raw_compose()["services"][service]["environment"]
    missing = [names[0] for names in setting_env_names() if not set(names) & set(environment)]
    assert missing == []
    for required in ("DATABASE_URL", "REFERRALS_ENCRYPTION_KEYS", "REFERRALS_ACTOR_KEYS", "TEMPORAL_ADDRESS"):
        assert environment[required] is not None


@pytest.mark.parametrize("service", APP_SERVICES)
def test_the_settings_are_valid_in_production_and_point_at_this_stack(service, monkeypatch):
    stack = compose()
    services = stack["services"]
    settings = settings_from(container_env(services[service], stack_env()), monkeypatch)
    assert settings.env == "production"
    assert [key_id for key_id, _ in parse_keys(settings.encryption_keys)] == ["k1"]

    database = urlsplit(settings.database_url)
    postgres = services["postgres"]["environment"]
    assert (database.hostname, database.port, database.path) == ("postgres", 5432, "/referrals")
    assert (database.username, database.password) == ("referrals", postgres["REFERRALS_DB_PASSWORD"])

    temporal = services["temporal"]
    connection = settings.temporal
    host, port = connection.address.split(":")
    assert host == "temporal" and port == str(temporal["environment"]["FRONTEND_GRPC_PORT"])
    assert port in temporal["healthcheck"]["test"]
    assert connection.namespace == services["temporal-setup"]["environment"]["NAMESPACE"]
    assert (connection.uses_tls, connection.api_key, connection.deprecated) == (False, None, ())

    smtp = urlsplit(settings.smtp_url)
    assert (smtp.scheme, smtp.hostname) == ("smtp", "mailpit")
    assert services["mailpit"]["environment"]["MP_SMTP_BIND_ADDR"].endswith(f":{smtp.port}")

    storage = urlsplit(settings.evidence_s3_url)
    minio = services["minio"]
    assert (storage.hostname, storage.port) == ("minio", 9000) and "/data" in minio["command"]
    assert (settings.evidence_s3_access_key, settings.evidence_s3_secret_key.get_secret_value()) == (
        minio["environment"]["MINIO_ROOT_USER"],
        minio["environment"]["MINIO_ROOT_PASSWORD"],
    )


def test_the_browser_reaches_the_desk_the_api_and_the_ui_through_one_door():
    stack = compose()
    services = stack["services"]
    api, ui, proxy = services["api"], services["temporal-ui"], services["proxy"]
    public_url = urlsplit(api["environment"]["REFERRALS_PUBLIC_URL"])
    ui_url = urlsplit(api["environment"]["REFERRALS_TEMPORAL_UI_URL"])
    assert api["command"][-2:] == ["--port", "8000"]
    # Only nginx is published; the API and the UI are reached through it, at one origin, the UI under /temporal.
    assert "ports" not in api and "ports" not in ui
    assert published(proxy)[8080] == ("127.0.0.1", public_url.port) and public_url.hostname == "localhost"
    assert (ui_url.scheme, ui_url.netloc, ui_url.path) == (public_url.scheme, public_url.netloc, "/temporal")
    assert ui["environment"]["TEMPORAL_UI_PUBLIC_PATH"] == ui_url.path
    assert not api["environment"].get("REFERRALS_TEMPORAL_UI_UPSTREAM")  # nginx serves the UI, not the API

    # The UI calls <endpoint>/encode and <endpoint>/decode from the browser at the same origin: the desk's cookie
    # goes with them.
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"] == api["environment"]["REFERRALS_PUBLIC_URL"] + "/codec"
    assert ui["environment"]["TEMPORAL_CORS_ORIGINS"] == api["environment"]["REFERRALS_PUBLIC_URL"]

    # nginx's site (tests/test_temporal_ui.py runs it where nginx is installed): these services at their ports,
    # the UI behind the API's check.
    mounted = proxy["configs"][0]
    assert mounted["target"] == "/etc/nginx/conf.d/default.conf"
    site = (ROOT / stack["configs"][mounted["source"]]["file"]).read_text()
    assert "listen 8080;" in site and "server api:8000;" in site
    assert f"server temporal-ui:{ui['environment']['TEMPORAL_UI_PORT']};" in site
    assert site.count("auth_request /_temporal_ui_auth;") == 4 and "/desk/temporal-ui/auth;" in site
    from referrals.web import temporal_ui

    assert {"/desk/temporal-ui/auth", "/desk/temporal-ui/refused"} <= {r.path for r in temporal_ui.router.routes}
    from referrals.api.routes import codec, health

    assert {"/codec/encode", "/codec/decode"} <= {route.path for route in codec.router.routes}
    assert "/readyz" in {route.path for route in health.router.routes}
    assert "http://127.0.0.1:8000/readyz" in " ".join(api["healthcheck"]["test"])
    assert ui["environment"]["TEMPORAL_ADDRESS"] == api["environment"]["TEMPORAL_ADDRESS"]
    assert ui["environment"]["TEMPORAL_DEFAULT_NAMESPACE"] == api["environment"]["TEMPORAL_NAMESPACE"]


def test_the_worker_scales():
    worker = raw_compose()["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"] == ["python", "-m", "referrals.worker"]


def test_images_are_pinned():
    services = raw_compose()["services"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, service in services.items():
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {service['image']}"
        if "build" in service:
            assert tag == version, f"{name}: the application image is tagged with pyproject's version"
    assert services["temporal-schema"]["image"] == services["temporal-setup"]["image"]
    assert services["temporal"]["image"].split(":")[1] == services["temporal-setup"]["image"].split(":")[1]


def test_the_start_order():
    services = raw_compose()["services"]
    completed, healthy = "service_completed_successfully", "service_healthy"
    assert {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in services.items()
    } == {
        "postgres": {},
        "temporal-schema": {"postgres": healthy},
        "temporal": {"temporal-schema": completed},
        "temporal-setup": {"temporal": healthy},
        "temporal-ui": {"temporal-setup": completed},
        "mailpit": {},
        "minio": {},
        "migrate": {"postgres": healthy},
        "api": {"migrate": completed, "temporal-setup": completed, "minio": healthy},
        "worker": {"migrate": completed, "temporal-setup": completed, "mailpit": "service_started"},
        "proxy": {"api": healthy, "temporal-ui": "service_started"},
    }
    for service in services.values():
        for dependency, spec in service.get("depends_on", {}).items():
            if spec["condition"] == healthy:
                assert "healthcheck" in services[dependency], dependency
            if spec["condition"] == completed:  # a job that restarts never counts as completed
                assert services[dependency].get("restart", "no") == "no", dependency
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]


def test_temporal_runs_on_the_stacks_postgresql():
    stack = compose()
    services, init = stack["services"], stack["configs"]["postgres-init"]["content"]
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    temporal = services["temporal"]["environment"]
    assert (temporal["DB"], temporal["POSTGRES_SEEDS"], temporal["POSTGRES_USER"], temporal["POSTGRES_PWD"]) == (
        "postgres12",
        "postgres",
        "postgres",
        password,
    )
    assert services["temporal-schema"]["environment"]["SQL_PASSWORD"] == password
    # The server's default databases, created on a new volume and brought to the current schema by the job.
    assert {"referrals", "temporal", "temporal_visibility"} <= set(re.findall(r"CREATE DATABASE (\w+)", init))
    job = services["temporal-schema"]["command"][0]
    assert "--plugin postgres12 --ep postgres -p 5432" in job
    assert set(re.findall(r"--db (\w+) (setup-schema|update-schema)", job)) == {
        (db, step) for db in ("temporal", "temporal_visibility") for step in ("setup-schema", "update-schema")
    }


def test_the_setup_job_registers_exactly_the_workflows_search_attributes():
    script = compose()["services"]["temporal-setup"]["command"][0]
    assert 'sa="temporal operator search-attribute create --namespace $NAMESPACE"' in script
    registered = dict(re.findall(r"^\$sa --name (\w+) --type (\w+)$", script, re.MULTILINE))
    assert registered == {key.name: search_attributes.CLI_TYPES[key] for key in search_attributes.ALL}


def dockerfile_stages() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    return re.split(r"(?m)^FROM\s+", text)[1:]


def test_the_image_is_multi_stage_non_root_and_without_dev_dependencies():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    for stage in stages:
        image = stage.split()[0]
        assert ":" in image and image.split(":")[1] != "latest" and re.search(r"\d", image.split(":")[1])
    final = stages[-1]
    users = re.findall(r"(?m)^USER\s+(\S+)", final)
    assert users and users[-1] not in ("root", "0")
    assert "pip install" not in final and "COPY --from=builder /opt/venv /opt/venv" in final
    # The package is installed from its wheel, not run from a source tree on PYTHONPATH.
    assert re.search(r"(?m)^WORKDIR /app$", final) and "PYTHONPATH" not in final and "COPY . ." not in final
    assert "pip install --no-deps ." in stages[0]

    text = "".join(stages)
    assert "['project']['dependencies']" in text and "-c requirements.lock" in text
    assert "-r requirements.lock" not in text and ".[" not in text
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for requirement in extras["dev"] + extras["test"]:
        assert requirement.split("==")[0] not in text


def test_the_build_context_leaves_out_secrets_and_local_state_but_not_what_the_app_reads():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", "var", "tests", ".git"} <= ignored
    assert not {"alembic.ini", "policy", "templates", "referrals", "referrals/store", "referrals/config.py"} & ignored
