"""The environment variables the application reads, and which of them are secrets: what docker-compose.yml,
.env.example and deploy/kubernetes/ must each give (tests/test_compose.py, tests/test_kubernetes.py)."""

import os
import re
import typing
from pathlib import Path

from pydantic import AliasChoices, SecretStr

from referrals import temporal_environment
from referrals.config import Settings

# Not secrets, though their names say KEY: an access key is the id that goes with the secret key.
NOT_SECRET = frozenset({"REFERRALS_EVIDENCE_S3_ACCESS_KEY"})
# Secrets whose names do not say so: the database URL carries the application role's password.
ALSO_SECRET = frozenset({"DATABASE_URL"})
_SECRET_WORD = re.compile(r"KEY|SECRET|PASSWORD|TOKEN")


def setting_env_names() -> list[tuple[str, ...]]:
    """For each setting the application reads, the environment variables it is read from: each field of Settings
    (less the names before 1.0 that temporal_environment.DEPRECATED replaces), then Temporal's own variables."""
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, AliasChoices):
            choices = tuple(choice for choice in alias.choices if isinstance(choice, str))
        else:
            choices = (alias if isinstance(alias, str) else (Settings.model_config["env_prefix"] + name).upper(),)
        if not set(choices) & set(temporal_environment.DEPRECATED):
            names.append(choices)
    names.extend((variable,) for variable in temporal_environment.VARIABLES)
    return names


def all_setting_names() -> set[str]:
    return {name for names in setting_env_names() for name in names}


def _field_types(name: str) -> set[object]:
    for field_name, field in Settings.model_fields.items():
        if (Settings.model_config["env_prefix"] + field_name).upper() == name:
            annotation = field.annotation
            return set(typing.get_args(annotation)) | {annotation}
    return set()


def secret_values() -> set[str]:
    """Settings whose value is itself a secret: given only by reference (a secretKeyRef, a .env left out of the
    repository), never written down. A SecretStr field, a secret of Temporal's configuration, or a name that says
    KEY, SECRET, PASSWORD or TOKEN, unless its value is a path (secret_files) or an id (NOT_SECRET)."""
    secrets = set(ALSO_SECRET) | set(temporal_environment.SECRETS)
    for name in all_setting_names():
        if SecretStr in _field_types(name) or _SECRET_WORD.search(name):
            secrets.add(name)
    return secrets - secret_files() - NOT_SECRET


def secret_files() -> set[str]:
    """Settings naming a file that holds a secret (a private key): the file must come from a secret, mounted."""
    return {
        name
        for name in all_setting_names()
        if _SECRET_WORD.search(name) and (Path in _field_types(name) or name.endswith("_PATH"))
    }


def clear_settings_environment(monkeypatch) -> None:
    """This process's own settings out of the way, so that Settings() reads only what a test sets."""
    for name in list(os.environ):
        if name.startswith(("REFERRALS_", "TEMPORAL_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
