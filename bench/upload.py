"""Benchmark: one large evidence upload through the HTTP API, and its download, while the API's memory is watched.

    .venv/bin/python -m bench.upload                          # 1 GiB into PostgreSQL (the default storage)
    .venv/bin/python -m bench.upload --size-mib 64 --storage s3   # into moto's S3 server on loopback

Starts a throw-away stack of real processes (bench/stack.py; for `s3` also moto's S3 server, the API told
to use it), files a case as the officer, then uploads a synthetic MP4 of the size asked for (an `ftyp` box,
major brand `isom`, then one `mdat` box) as multipart/form-data. Neither side ever holds the file whole:
this process writes the multipart framing itself and sends the file in 1 MiB pieces from an async generator,
hashing them as they go, while the API (referrals/api/upload.py, referrals/api/evidence_upload.py, referrals/store/blobs.py) streams it to
storage. The API process's RSS (its children too, were there any) is sampled every 50 ms throughout; then
the item is downloaded back, streamed and hashed, sampled the same way.

Prints JSON: the size, storage, seconds and MiB/s of the upload, beside a plain copy of the same bytes to the same
storage (`plain_copy`, `versus_plain_copy`: issue 32 asks for at least 0.7); CPU seconds of the API, PostgreSQL and this
process; the API's RSS before it (after a 2 MiB warm-up upload; "cold" is before that), at its peak and after
it; the answer's status and SHA-256 beside the one computed here; the same for the download; and whether the
API's memory stayed flat.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import random
import struct
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import psutil

from bench.stack import Stack
from referrals.devstack import procs
from tests.support.scenario import FILING, at

MIB = 1024 * 1024
PIECE = MIB  # what the client sends at a time
SAMPLE_EVERY = 0.05  # seconds between RSS samples
# "Flat": the API's RSS may rise by less than this over the upload, whatever its size. A constant on purpose,
# not a fraction of the file: a server that buffers 1 GiB, or even a tenth of it, fails it; the allocator's
# slack, a few 1 MiB pieces in flight and the S3 adapter's 8 MiB part (and boto3's copy of it) fit well within.
FLAT_BELOW_MIB = 64
WARMUP_BYTES = 2 * MIB  # a small upload first, so one-off costs (imports, pools, caches) are not counted as growth
METADATA = {
    "kind": "video",
    "description": "bystander's phone video of the detention (benchmark)",
    "source": "civilian",
    "collected_by": "P.O. Ana Ruiz (12345)",
    "collected_at": at(60),  # after the incident (FILING's), before now
}
S3_BUCKET = "evidence-bench"


# --- the file: a synthetic MP4, made piece by piece


def mp4_header(size: int) -> bytes:
    """An `ftyp` box (major brand isom) and the header of an `mdat` box whose payload fills the file to `size`
    bytes (tests/support/evidence_files.py mp4()'s layout; a 64-bit box size past 4 GiB)."""
    ftyp = b"ftyp" + b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    ftyp = struct.pack(">I", len(ftyp) + 4) + ftyp
    payload = size - len(ftyp) - 8
    if payload + 8 <= 0xFFFFFFFF:
        return ftyp + struct.pack(">I", payload + 8) + b"mdat"
    payload -= 8
    return ftyp + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", payload + 16)


def mp4_pieces(size: int, seed: int = 15) -> Iterator[bytes]:
    """The file's bytes, header then payload in pieces of at most PIECE bytes. The payload is one block of
    random bytes (so PostgreSQL's TOAST compression does not shrink the chunks), each piece stamped with its
    number so that no two are alike (a chunk stored twice or out of order changes the hash)."""
    header = mp4_header(size)
    if size < len(header) + 8:
        raise ValueError(f"an MP4 of {size} bytes is too small")
    block = random.Random(seed).randbytes(PIECE)
    yield header
    left, n = size - len(header), 0
    while left > 0:
        length = min(PIECE, left)
        yield struct.pack(">Q", n) + block[8:length] if length > 8 else block[:length]
        left -= length
        n += 1


class Multipart:
    """A multipart/form-data body, `metadata` then `file`, framed here and streamed: its length known in
    advance (so it is sent with Content-Length, not chunked), its file hashed as it is sent."""

    def __init__(self, metadata: dict, size: int, filename: str = "bystander.mp4"):
        self.boundary = f"bench-{uuid.uuid4().hex}"
        self.size = size
        self.head = (
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="metadata"\r\n'
            "Content-Type: application/json\r\n\r\n"
            f"{json.dumps(metadata)}\r\n"
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.sha256 = hashlib.sha256()
        self.sent = 0

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(len(self.head) + self.size + len(self.tail)),
        }

    async def body(self) -> AsyncIterator[bytes]:
        yield self.head
        for piece in mp4_pieces(self.size):
            self.sha256.update(piece)
            self.sent += len(piece)
            yield piece
        yield self.tail


# --- memory


def rss(pid: int, children: bool = True) -> int:
    """Resident bytes of the process and its children (the API: none, unless uvicorn forks workers)."""
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True) if children else ():
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class Sampler:
    """RSS of a process every SAMPLE_EVERY seconds, on a thread (so a busy event loop here cannot skip samples),
    for as long as the `with` lasts."""

    def __init__(self, pid: int, children: bool = True):
        self.pid, self.children = pid, children
        self.samples: list[int] = []
        self.began = self.ended = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(rss(self.pid, self.children))
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self) -> Sampler:
        self.began = time.monotonic()
        self.samples.append(rss(self.pid, self.children))
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(rss(self.pid, self.children))
        self.ended = time.monotonic()

    @property
    def interval_ms(self) -> float:
        """The mean time between samples (longer than SAMPLE_EVERY when this process is busy)."""
        return round((self.ended - self.began) / max(1, len(self.samples) - 1) * 1000, 1)

    @property
    def peak(self) -> int:
        return max(self.samples)


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User and system CPU seconds of a process (and, if asked, of its living children: PostgreSQL's backends)."""
    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True) if children else ():
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


class Cpu:
    """CPU seconds spent by the API, PostgreSQL and this process (the client; moto's S3 server too) over a span."""

    def __init__(self, stack: Stack):
        self.pids = {
            "api": (stack.pids()["api"], False),
            "postgres": (stack.pids()["postgres"], True),
            "client": (os.getpid(), False),
        }
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        return {name: cpu_seconds(pid, children) for name, (pid, children) in self.pids.items()}

    def spent(self) -> dict[str, float]:
        return {name: round(now - self.start[name], 2) for name, now in self._now().items()}


def mib(n: int) -> float:
    return round(n / MIB, 1)


# --- the stack, with S3 storage if asked for


@asynccontextmanager
async def stack_with(storage: str):
    if storage == "postgres":
        async with Stack.started(request_timeout=60.0) as stack:
            yield stack
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per S3 request on stderr
    port = procs.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3_env = {
        "REFERRALS_EVIDENCE_S3_URL": f"http://127.0.0.1:{port}",
        "REFERRALS_EVIDENCE_S3_BUCKET": S3_BUCKET,
        "REFERRALS_EVIDENCE_S3_ACCESS_KEY": "test",
        "REFERRALS_EVIDENCE_S3_SECRET_KEY": "test",
    }

    class S3Stack(Stack):  # Stack hands every process env(): the API (and the worker) get the S3 settings too
        def env(self) -> dict[str, str]:
            return {**super().env(), **s3_env}

    try:
        async with S3Stack.started(request_timeout=60.0) as stack:
            yield stack
    finally:
        server.stop()


# --- the run


async def upload(http: httpx.AsyncClient, case_id: str, token: str, size: int) -> tuple[httpx.Response, Multipart]:
    body = Multipart(METADATA, size)
    response = await http.post(
        f"/incidents/{case_id}/evidence",
        content=body.body(),
        headers={"Authorization": f"Bearer {token}", **body.headers},
    )
    return response, body


async def download(http: httpx.AsyncClient, path: str, token: str) -> tuple[int, int, str, str | None]:
    sha256, size = hashlib.sha256(), 0
    async with http.stream("GET", path, headers={"Authorization": f"Bearer {token}"}) as response:
        async for piece in response.aiter_bytes(PIECE):
            sha256.update(piece)
            size += len(piece)
    return response.status_code, size, sha256.hexdigest(), response.headers.get("x-content-sha256")


async def measure(stack: Stack, storage: str, size: int) -> dict:
    api_pid = stack.pids()["api"]
    token = stack.tokens["officer"]
    timeout = httpx.Timeout(600.0, connect=10.0)
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=timeout) as http:
        filed = await http.post("/incidents", json=FILING, headers={"Authorization": f"Bearer {token}"})
        if filed.status_code != 201:
            raise RuntimeError(f"filing answered {filed.status_code}: {filed.text}")
        case_id = filed.json()["id"]

        cold = rss(api_pid)
        warm, _ = await upload(http, case_id, token, WARMUP_BYTES)
        if warm.status_code != 201:
            raise RuntimeError(f"the warm-up upload answered {warm.status_code}: {warm.text}")
        await asyncio.sleep(1.0)

        # This process's own RSS, without its children (the stack's processes are its children).
        with Sampler(api_pid) as up, Sampler(os.getpid(), children=False) as client:
            started, cpu = time.monotonic(), Cpu(stack)
            response, sent = await upload(http, case_id, token, size)
            seconds, up_cpu = time.monotonic() - started, cpu.spent()
            await asyncio.sleep(1.0)  # "after": once the request is done and anything it left is released
        if response.status_code != 201:
            raise RuntimeError(f"the upload answered {response.status_code}: {response.text}")
        answer = response.json()
        expected = sent.sha256.hexdigest()

        with Sampler(api_pid) as down:
            started, cpu = time.monotonic(), Cpu(stack)
            status, got, digest, header = await download(http, answer["download"], token)
            down_seconds, down_cpu = time.monotonic() - started, cpu.spent()
            await asyncio.sleep(1.0)

    growth = up.peak - up.samples[0]
    return {
        "size_bytes": size,
        "storage": storage,
        "status": response.status_code,
        "seconds": round(seconds, 2),
        "MiB_per_s": round(size / MIB / seconds, 1),
        "cpu_seconds": up_cpu,
        "api_rss_mib": {
            "cold": mib(cold),
            "before": mib(up.samples[0]),
            "peak": mib(up.peak),
            "after": mib(up.samples[-1]),
            "peak_minus_before": mib(growth),
            "samples": len(up.samples),
            "sample_interval_ms": up.interval_ms,
        },
        "sha256": answer.get("sha256"),
        "sha256_matches": answer.get("sha256") == expected,
        "size_matches": answer.get("size") == size == sent.sent,
        "content_type": answer.get("content_type"),
        "client_rss_mib": {
            "before": mib(client.samples[0]),
            "peak": mib(client.peak),
            "peak_minus_before": mib(client.peak - client.samples[0]),
            "note": "this process"
            + (", moto's S3 server (which keeps the object) included" if storage == "s3" else ""),
        },
        "download": {
            "status": status,
            "seconds": round(down_seconds, 2),
            "MiB_per_s": round(got / MIB / down_seconds, 1),
            "cpu_seconds": down_cpu,
            "size_matches": got == size,
            "sha256_matches": digest == expected,
            "header_sha256_matches": header == expected,
            "api_rss_mib": {
                "before": mib(down.samples[0]),
                "peak": mib(down.peak),
                "after": mib(down.samples[-1]),
                "peak_minus_before": mib(down.peak - down.samples[0]),
            },
            "flat": down.peak - down.samples[0] < FLAT_BELOW_MIB * MIB,
        },
        "flat_below_mib": FLAT_BELOW_MIB,
        "flat": growth < FLAT_BELOW_MIB * MIB,  # the upload's verdict
    }


# --- the floor: the same bytes copied to the same storage with nothing in between


async def plain_copy(stack: Stack, storage: str, size: int) -> dict:
    """The same bytes (mp4_pieces) written straight to the same storage by this process, as an operator's plain copy
    would: into PostgreSQL, one binary COPY of 1 MiB rows into a scratch table shaped as evidence_chunk, in one transaction
    (then dropped); into S3, one multipart upload of 8 MiB parts to the same server. No HTTP, no parsing, no hashing:
    what the upload's throughput is compared with."""
    started = time.monotonic()
    if storage == "postgres":
        import psycopg

        dsn = stack.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            await conn.execute("CREATE TABLE bench_plain_copy (LIKE evidence_chunk INCLUDING ALL)")
            await conn.commit()
            started = time.monotonic()
            async with conn.cursor() as cursor:
                async with cursor.copy("COPY bench_plain_copy (key, n, data) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["text", "int4", "bytea"])
                    for n, piece in enumerate(_rows(size)):
                        await copy.write_row(("plain-copy", n, piece))
            await conn.commit()
            seconds = time.monotonic() - started
            await conn.execute("DROP TABLE bench_plain_copy")
            await conn.commit()
    else:
        import boto3

        env = stack.env()
        client = boto3.client(
            "s3",
            endpoint_url=env["REFERRALS_EVIDENCE_S3_URL"],
            region_name="us-east-1",
            aws_access_key_id=env["REFERRALS_EVIDENCE_S3_ACCESS_KEY"],
            aws_secret_access_key=env["REFERRALS_EVIDENCE_S3_SECRET_KEY"],
        )
        bucket = env["REFERRALS_EVIDENCE_S3_BUCKET"]
        started = time.monotonic()
        upload_id = client.create_multipart_upload(Bucket=bucket, Key="plain-copy")["UploadId"]
        parts = []
        for number, part in enumerate(_rows(size, 8 * MIB), 1):
            tag = client.upload_part(Bucket=bucket, Key="plain-copy", UploadId=upload_id, PartNumber=number, Body=part)
            parts.append({"PartNumber": number, "ETag": tag["ETag"]})
        client.complete_multipart_upload(
            Bucket=bucket, Key="plain-copy", UploadId=upload_id, MultipartUpload={"Parts": parts}
        )
        seconds = time.monotonic() - started
        client.delete_object(Bucket=bucket, Key="plain-copy")
    return {"seconds": round(seconds, 2), "MiB_per_s": round(size / MIB / seconds, 1)}


def _rows(size: int, length: int = MIB) -> Iterator[bytes]:
    """mp4_pieces regrouped into rows (or parts) of `length` bytes, as the storage keeps them."""
    pending = bytearray()
    for piece in mp4_pieces(size):
        pending += piece
        while len(pending) >= length:
            yield bytes(pending[:length])
            del pending[:length]
    if pending:
        yield bytes(pending)


async def main_async(args: argparse.Namespace) -> dict:
    async with stack_with(args.storage) as stack:
        return await beside_plain_copy(stack, args.storage, args.size_mib * MIB)


async def beside_plain_copy(stack: Stack, storage: str, size: int) -> dict:
    """The upload measured, then the same bytes copied plainly to the same storage, and the one against the other."""
    measured = await measure(stack, storage, size)
    floor = await plain_copy(stack, storage, size)
    return measured | {
        "plain_copy": floor,
        # Issue 32's target: at least 0.7 of a plain copy's throughput to the same storage.
        "versus_plain_copy": round(measured["MiB_per_s"] / floor["MiB_per_s"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024, help="the file's size (default 1 GiB)")
    parser.add_argument("--storage", choices=["postgres", "s3"], default="postgres")
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
