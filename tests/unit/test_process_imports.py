"""What a process loads at its start: pyHanko's signing and validation, and the Temporal SDK's OpenTelemetry plugin
with its exporter, are loaded where they are used (a signature made or checked, tracing configured), not by every
worker, document maker, API and command at its start (a third of a second each, on every start and restart)."""

import json
import subprocess
import sys

from referrals.config import ROOT

LATER = ["pyhanko.sign", "pyhanko.sign.validation", "pyhanko.pdf_utils.reader", "temporalio.contrib.opentelemetry"]


def test_the_processes_start_without_what_they_load_when_first_used():
    code = (
        "import json, sys\n"
        "import referrals.document_maker, referrals.worker, referrals.api.main, referrals.cli.documents\n"
        f"print(json.dumps([m for m in {LATER!r} if m in sys.modules]))"
    )
    started = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout.splitlines()[-1]) == []
