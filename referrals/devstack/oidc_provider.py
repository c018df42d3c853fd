"""A real OpenID Connect provider on loopback: npm's `oidc-provider` run by referrals/devstack/oidc/provider.mjs.

Started by `make run OIDC=1` (referrals/devstack/demo_oidc.py) and by the tests:

    with oidc_provider.start(tmp, clients=[{"client_id": "web", "client_secret": "...",
                                            "redirect_uris": [...], "post_logout_redirect_uris": [...]}],
                             accounts={"ana": {"sub": "u-ana", "password": "pw", "groups": [...], "mfa": True}},
                             resource="http://127.0.0.1:8000") as op:
        op.issuer                                  # http://127.0.0.1:<port>
        op.set_account("ana", groups=["cpd-command"])   # the next ID and access tokens carry it
        op.rotate_keys()                           # a new signing kid, the old one still published

The tests sign in against it with the browser-like clients of tests/support/oidc.py.

`python -m referrals.devstack.oidc_provider install` runs `npm ci` in referrals/devstack/oidc (the Makefile's install does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from referrals.devstack import procs

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
SCRIPT = OIDC_DIR / "provider.mjs"
STARTUP_TIMEOUT = 30.0
WRONG_AUDIENCE = "http://wrong-audience.invalid"
READY = "oidc-provider listening "


class ProviderError(RuntimeError):
    """The provider could not be installed or started, or a flow against it went wrong; the message says why."""


# --- install -------------------------------------------------------------------------------------


def node() -> str | None:
    return shutil.which("node")


def pinned_version() -> str:
    return json.loads((OIDC_DIR / "package.json").read_text())["dependencies"]["oidc-provider"]


def installed() -> bool:
    """Node is on PATH and referrals/devstack/oidc/node_modules holds the pinned oidc-provider."""
    if node() is None:
        return False
    try:
        found = json.loads((OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return False
    return found == pinned_version()


def install() -> None:
    """`npm ci` in referrals/devstack/oidc: exactly what package-lock.json says. Raises ProviderError on failure."""
    npm = shutil.which("npm")
    if npm is None or node() is None:
        raise ProviderError("node and npm are needed to install the OpenID provider (referrals/devstack/oidc)")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=OIDC_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ProviderError(f"npm ci in {OIDC_DIR} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


# --- the process ---------------------------------------------------------------------------------


class Provider:
    """A running provider; `start()` or `launch()` makes one. Stops with `stop()` or at the end of `with`."""

    def __init__(self, directory: Path, process: subprocess.Popen, issuer: str, config: dict[str, Any]):
        self.directory = directory
        self.process = process
        self.issuer = issuer
        self.config = config
        self.resource: str = config["resource"]
        self.accounts_file = Path(config["accounts_file"])
        self.keys_file = Path(config["keys_file"])
        self.log_file = directory / "provider.log"

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<oidc_provider.Provider {self.issuer} pid={self.process.pid}>"

    # Endpoints, read from the running provider.
    def metadata(self) -> dict[str, Any]:
        """The discovery document (/.well-known/openid-configuration)."""
        return _get_json(f"{self.issuer}/.well-known/openid-configuration")

    def jwks(self) -> dict[str, Any]:
        """The public JWKS the provider publishes (its jwks_uri)."""
        return _get_json(self.metadata()["jwks_uri"])

    # Accounts: the provider re-reads the file at every sign-in and token.
    def accounts(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.accounts_file.read_text())

    def set_account(self, login: str, **fields: Any) -> dict[str, Any]:
        """Create `login` or update its fields (a None value removes a field); returns the account."""
        accounts = self.accounts()
        account = dict(accounts.get(login, {}))
        for key, value in fields.items():
            if value is None:
                account.pop(key, None)
            else:
                account[key] = value
        accounts[login] = account
        _write_json(self.accounts_file, accounts)
        return account

    def rotate_keys(self) -> str:
        """A new signing key: first in keys_file and in the JWKS, signing from now on. Returns its kid."""
        response = httpx.post(f"{self.issuer}/_devstack/rotate", timeout=30)
        if response.status_code != 200:
            raise ProviderError(f"key rotation failed: {response.status_code} {response.text[:500]}")
        return response.json()["kid"]

    def signing_kids(self) -> list[str]:
        """The kids in keys_file, the signing one first."""
        return [key["kid"] for key in json.loads(self.keys_file.read_text())["keys"]]

    def stop(self) -> None:
        if self.process.poll() is None:
            procs.stop(self.process, timeout=5)

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""


def launch(
    directory: Path,
    *,
    clients: Iterable[Mapping[str, Any]],
    accounts: Mapping[str, Mapping[str, Any]],
    resource: str,
    access_token_ttl: int = 600,
    port: int = 0,
    extra_resources: Iterable[str] = (WRONG_AUDIENCE,),
    resource_scope: str = "api",
    keys_file: Path | None = None,
    timeout: float = STARTUP_TIMEOUT,
) -> Provider:
    """Write the config and accounts into `directory`, start the provider, wait until it listens.

    Port 0 picks a free port; the issuer is then http://127.0.0.1:<port>. `keys_file` (default
    directory/jwks.json) is created with one key if missing and kept, so a restart signs with the same keys.
    The caller stops the returned Provider (or use `start()`).
    """
    if node() is None:
        raise ProviderError("node is not on PATH: the OpenID provider needs Node.js")
    if not installed():
        raise ProviderError(
            f"oidc-provider {pinned_version()} is not installed: run `python -m referrals.devstack.oidc_provider install`"
        )
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "port": port,
        **({"issuer": f"http://127.0.0.1:{port}"} if port else {}),
        "clients": [dict(client) for client in clients],
        "resource": resource,
        "extra_resources": list(extra_resources),
        "resource_scope": resource_scope,
        "access_token_ttl": access_token_ttl,
        "accounts_file": str(directory / "accounts.json"),
        "keys_file": str(Path(keys_file).resolve() if keys_file else directory / "jwks.json"),
    }
    _write_json(Path(config["accounts_file"]), {login: dict(fields) for login, fields in accounts.items()})
    config_file = directory / "config.json"
    _write_json(config_file, config)
    log_file = directory / "provider.log"
    log_file.unlink(missing_ok=True)
    node_path = node()
    assert node_path is not None  # checked on entry
    process = procs.spawn([node_path, str(SCRIPT), str(config_file)], cwd=OIDC_DIR, log_file=log_file)
    try:
        issuer = _wait_listening(process, log_file, timeout)
    except BaseException:
        procs.stop(process, timeout=5)
        raise
    return Provider(directory, process, issuer, config)


@contextmanager
def start(directory: Path, **kwargs: Any) -> Iterator[Provider]:
    """`launch()` as a context manager: the provider stops on exit (SIGTERM, then SIGKILL)."""
    provider = launch(directory, **kwargs)
    try:
        yield provider
    finally:
        provider.stop()


def _wait_listening(process: subprocess.Popen, log_file: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = log_file.read_text(errors="replace") if log_file.exists() else ""
        for line in text.splitlines():
            if line.startswith(READY):
                return line[len(READY) :].strip()
        if process.poll() is not None:
            raise ProviderError(f"the OpenID provider exited with code {process.returncode} before listening:\n{text}")
        if time.monotonic() > deadline:
            raise ProviderError(f"the OpenID provider did not listen within {timeout:.0f}s:\n{text}")
        time.sleep(0.05)


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    os.replace(tmp, path)  # the provider never reads half a file


def _get_json(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return response.json()


# --- command line --------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    if argv[:1] != ["install"] or len(argv) != 1:
        print("usage: python -m referrals.devstack.oidc_provider install", file=sys.stderr)
        return 2
    if node() is None or shutil.which("npm") is None:
        # Not every machine needs the provider: its tests skip without node, so make install goes on.
        print(
            "devstack: node/npm not found; the OpenID provider (referrals/devstack/oidc) is not installed",
            file=sys.stderr,
        )
        return 0
    try:
        install()
    except ProviderError as error:
        print(f"devstack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
