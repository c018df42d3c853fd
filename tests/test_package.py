"""The package as a department installs it: its wheel, built from this tree and installed (not editable) into a
fresh virtual environment, runs from there, with the policy files and templates it brought."""

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from referrals.config import ROOT

# No server, but the wheel built and installed into a fresh venv: a minute or so, not a unit test's milliseconds.
pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The fresh environment's python. Its third-party dependencies come from this environment's site-packages
    (on PYTHONPATH, which reads no .pth file, so this tree's editable install is not seen there)."""
    where = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(where / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((where / "dist").glob("incident_referrals-*.whl"))
    assert len(wheels) == 1, wheels
    venv.EnvBuilder().create(where / "venv")  # without a pip of its own: this environment's installs into it
    python = where / "venv" / "bin" / "python"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheels[0])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return python


def run(python: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERRALS_")}
    env.update(
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        REFERRALS_ENV="development",
        DATABASE_URL="postgresql://nobody@127.0.0.1:1/none",
    )
    return subprocess.run([str(python), *args], cwd=python.parent, env=env, capture_output=True, text=True, timeout=120)


def test_the_api_app_imports_from_the_wheel_with_its_policy_and_templates(installed):
    done = run(
        installed,
        "-c",
        "\n".join(
            [
                "import referrals, referrals.api.main as main",
                "from referrals.config import ROOT, get_settings",
                "from referrals.domain.policy import load_policy",
                "from referrals.web.pages import TEMPLATES",
                "from referrals.activities.rendering import TEMPLATES as MESSAGES",
                "app = main.create_app(get_settings())",
                "print(referrals.__file__)",
                "print(ROOT)",
                "print(load_policy(get_settings().policy_file).case_prefix)",
                "print((TEMPLATES / 'case.html').is_file(), (TEMPLATES / 'static' / 'desk.css').is_file())",
                "print((MESSAGES / 'documents' / 'referral_packet.docx').is_file(), '/incidents' in app.openapi()['paths'])",
            ]
        ),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    package, root, prefix, pages, documents = done.stdout.split("\n")[:5]
    venv_dir = str(installed.parent.parent)
    assert package.startswith(venv_dir) and str(ROOT) not in package  # the wheel's copy, not this tree
    assert root == f"{venv_dir}/share/incident-referrals"
    assert prefix == "CPD" and pages == "True True" and documents == "True True"


def test_the_worker_and_the_command_answer_help_from_the_wheel(installed):
    worker = run(installed, "-m", "referrals.worker", "--help")
    assert worker.returncode == 0 and "runs the cases' workflows" in worker.stdout, worker.stderr[-2000:]
    command = run(installed.parent / "referrals", "--help")
    assert command.returncode == 0 and "versions" in command.stdout, command.stderr[-2000:]


def test_the_migrations_come_with_the_package(installed):
    done = run(
        installed,
        "-c",
        "\n".join(
            [
                "from alembic.config import Config",
                "from alembic.script import ScriptDirectory",
                "config = Config()",
                "config.set_main_option('script_location', 'referrals.store:migrations')",
                "script = ScriptDirectory.from_config(config)",
                "print(len(list(script.walk_revisions())))",
            ]
        ),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) == len(list((ROOT / "referrals" / "store" / "migrations" / "versions").glob("0*.py")))
