"""Where `referrals audit verify --published` reads the roots from: the public site (over HTTP, as any reader
fetches it) or a directory of saved snapshots; either unreadable is said in words, never a traceback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from referrals.cli.published import Published, SourceError, read_source

SNAPSHOT = {"snapshot_id": 3, "published_on": "2026-12-07", "chains_root": "ab" * 32, "tables": []}


class _Site(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        pages = {
            "/public/snapshots": {"snapshots": [{"id": 3, "json": "/public/snapshots/3"}]},
            "/public/snapshots/3": SNAPSHOT,
        }
        found = pages.get(self.path)
        body = json.dumps(found if found is not None else {"error": {"code": "not_found"}}).encode()
        self.send_response(200 if found is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_public_site_or_a_directory_of_saved_snapshots(site, tmp_path):
    expected = Published(3, "2026-12-07", "ab" * 32, f"{site}/public/snapshots/3")
    assert read_source(site) == read_source(f"{site}/public/") == [expected]
    (tmp_path / "snapshot-3.json").write_text(json.dumps(SNAPSHOT))
    assert read_source(str(tmp_path)) == [Published(3, "2026-12-07", "ab" * 32, str(tmp_path / "snapshot-3.json"))]


def test_a_source_that_is_not_one_is_said_in_words(site, tmp_path):
    with pytest.raises(SourceError, match=r"/elsewhere/public/snapshots answered 404: not the public site"):
        read_source(f"{site}/elsewhere")
    with pytest.raises(SourceError, match="neither a directory"):
        read_source(str(tmp_path / "missing"))
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(SourceError, match="x.json: not JSON"):
        read_source(str(tmp_path))
    (tmp_path / "x.json").write_text(json.dumps({"tables": []}))
    with pytest.raises(SourceError, match="not a public snapshot"):
        read_source(str(tmp_path))
