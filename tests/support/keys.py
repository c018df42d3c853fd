"""The keys the suite's servers, workers and clients share: the payload codec's and the steps' signing keys."""

import base64
import os

# The key the recorded histories under tests/histories/ were written with (fictional data: a test
# fixture, not a secret). Recording puts it first; otherwise a fresh key leads and it follows, as after
# a rotation, so the recorded histories still decrypt and replay.
HISTORY_KEY = "history-1:aGlzdG9yaWVzLXJlY29yZGVkLWZvci1yZXBsYXktMDE="
_FRESH = "test-1:" + base64.b64encode(os.urandom(32)).decode()
TEST_KEYS = f"{HISTORY_KEY},{_FRESH}" if os.environ.get("RECORD_HISTORIES") else f"{_FRESH},{HISTORY_KEY}"
# The steps' signing key (referrals/actor_assertions.py): the API's, the worker's and the test clients' own.
TEST_ACTOR_KEYS = "test-actor-1:" + base64.b64encode(os.urandom(32)).decode()
