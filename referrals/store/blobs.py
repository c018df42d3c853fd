"""Where evidence bytes are kept: one small port, two adapters (PostgreSQL by default, S3-compatible storage).

An upload streams through a Writer chunk by chunk and is committed whole or aborted leaving nothing; a download
streams a byte range back. Neither ever holds a whole file in memory.
"""

import asyncio
import functools
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Protocol

from sqlalchemy import LargeBinary, bindparam, delete, exists, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from referrals.store.tables import EvidenceChunkRow, EvidenceFileRow, core_table

CHUNK = 1024 * 1024  # PostgreSQL: the bytes of one row
PART = 8 * 1024 * 1024  # S3: one part of a multipart upload (at least 5 MiB but for the last)
SWEEP_AFTER = timedelta(hours=6)  # an upload still unfinished after this was cut off


class Writer(Protocol):
    size: int  # the piece it writes at a time; a write of exactly one, with nothing pending, is written uncopied

    async def write(self, data: bytes) -> None: ...
    async def commit(self) -> None: ...
    async def abort(self) -> None: ...


class BlobStore(Protocol):
    name: str  # as recorded beside each file: postgres | s3

    def writer(self, key: str) -> Writer: ...
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]: ...  # end inclusive
    async def delete(self, key: str) -> None: ...


class _Buffered:
    """Gathers writes into pieces of `size` bytes and hands each to `flush` (the last may be shorter), on a task of
    its own: a write returns once its pieces are under way, so the upload goes on reading the next while storage
    writes them. At most `depth` pieces are under way (memory stays at a few pieces whatever the file's size); a
    flush's failure is raised by a later write, by `flushed` or ignored by `settle` (an abort)."""

    depth = 1

    def __init__(self, size: int):
        self.size = size
        self.pending = bytearray()
        self.flushing: deque[asyncio.Task] = deque()

    async def write(self, data: bytes) -> None:
        if not self.pending and len(data) == self.size:  # a whole piece (referrals/api/evidence_upload.py gathers them)
            await self._start(data)
            return
        self.pending += data
        while len(self.pending) >= self.size:
            piece = bytes(self.pending[: self.size])
            del self.pending[: self.size]
            await self._start(piece)

    async def _start(self, piece: bytes) -> None:
        while len(self.flushing) >= self.depth:
            await self.flushing.popleft()
        self.flushing.append(asyncio.create_task(self.flush(piece)))

    async def flush(self, piece: bytes) -> None:
        raise NotImplementedError

    async def flushed(self) -> None:
        """Every piece under way stored (or the first failure raised)."""
        while self.flushing:
            await self.flushing.popleft()

    async def rest(self) -> None:
        if self.pending:
            await self._start(bytes(self.pending))
            self.pending.clear()
        await self.flushed()

    async def settle(self) -> None:
        """Before an abort deletes what was written: waits for the pieces under way to be stored or to fail, never
        cancelling one halfway, so that nothing is written after the delete. Their failures are the abort's."""
        self.pending.clear()
        tasks, self.flushing = list(self.flushing), deque()
        if tasks:
            await asyncio.wait(tasks)  # cancelling this wait (a shutdown) would not cancel them
            for task in tasks:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: not reported as never retrieved


class PostgresBlobs:
    """Bytes in the evidence_chunk table: a failed or refused upload deletes what it wrote."""

    name = "postgres"

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self.sessions = sessions
        self.engine: AsyncEngine = sessions.kw["bind"]  # the writes' connections, without a session each

    def writer(self, key: str) -> "_PostgresWriter":
        return _PostgresWriter(self, key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        chunks = core_table(EvidenceChunkRow)
        n = start // CHUNK
        offset = start - n * CHUNK
        remaining = None if end is None else end - start + 1
        while remaining is None or remaining > 0:
            async with self.sessions() as session:  # a connection per chunk: a slow reader holds none
                conn = await session.connection()
                data = (
                    await conn.execute(select(chunks.c.data).where(chunks.c.key == key, chunks.c.n == n))
                ).scalar_one_or_none()
            if data is None:
                return
            piece = data[offset:] if remaining is None else data[offset : offset + remaining]
            if remaining is not None:
                remaining -= len(piece)
            offset = 0
            n += 1
            yield piece

    async def delete(self, key: str) -> None:
        async with self.sessions() as session, session.begin():
            conn = await session.connection()
            await conn.execute(delete(core_table(EvidenceChunkRow)).where(core_table(EvidenceChunkRow).c.key == key))

    async def sweep(self, older_than: timedelta = SWEEP_AFTER) -> int:
        """Deletes the chunks of uploads cut off before they finished (a crash, a lost connection): no file row
        names them and their last chunk is older than `older_than`. Returns how many uploads it swept."""
        chunks, files = core_table(EvidenceChunkRow), core_table(EvidenceFileRow)
        async with self.sessions() as session, session.begin():
            conn = await session.connection()
            stale = (
                (
                    await conn.execute(
                        select(chunks.c.key)
                        .where(~exists().where(files.c.key == chunks.c.key))
                        .group_by(chunks.c.key)
                        .having(func.max(chunks.c.written_at) < func.now() - older_than)
                    )
                )
                .scalars()
                .all()
            )
            if stale:
                await conn.execute(delete(chunks).where(chunks.c.key.in_(stale)))
        return len(stale)


# A chunk is one statement committed on its own (autocommit: no BEGIN and COMMIT round trips), without waiting for
# its WAL to reach the disk (synchronous_commit off for that transaction alone, set_config's `is_local`). Nothing
# refers to the chunks until the file's row is committed, synchronously, after the last of them; that commit flushes
# the WAL up to its own record, so every chunk before it is on disk by then. A crash before it may lose chunks of an
# upload that was never answered, and PostgresBlobs.sweep deletes what is left of it.
_CHUNK_INSERT = text(
    "WITH no_wait AS (SELECT set_config('synchronous_commit', 'off', true)) "
    "INSERT INTO evidence_chunk (key, n, data) SELECT :key, :n, :data FROM no_wait"
).bindparams(bindparam("data", type_=LargeBinary))


class _PostgresWriter(_Buffered):
    """Each chunk in a short transaction of its own, so that an upload holds no connection while its bytes arrive
    (two chunks at a time, on two connections: the one is sent while PostgreSQL stores the other); an aborted upload
    deletes what it wrote, and one cut off by a crash is swept (PostgresBlobs.sweep)."""

    depth = 2

    def __init__(self, store: PostgresBlobs, key: str):
        super().__init__(CHUNK)
        self.store = store
        self.key = key
        self.n = 0

    async def flush(self, piece: bytes) -> None:
        n, self.n = self.n, self.n + 1  # numbered before the wait: the next chunk's flush may start meanwhile
        async with self.store.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(_CHUNK_INSERT, {"key": self.key, "n": n, "data": piece})

    async def commit(self) -> None:
        await self.rest()

    async def abort(self) -> None:
        await self.settle()
        if self.n:
            await self.store.delete(self.key)


class S3Blobs:
    """Bytes as objects in an S3-compatible bucket, uploaded in parts (boto3, on threads); a refused upload is
    aborted, so no object and no stored part remains."""

    name = "s3"

    def __init__(self, url: str, bucket: str, region: str, access_key: str, secret_key: str):
        import boto3  # only where S3 is configured
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(retries={"mode": "standard"}, s3={"addressing_style": "path"}),
        )

    def writer(self, key: str) -> "_S3Writer":
        return _S3Writer(self, key)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        span = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=key, Range=span)
        except self.client.exceptions.NoSuchKey:
            return
        body = answer["Body"]
        try:
            pieces = body.iter_chunks(CHUNK)
            while piece := await asyncio.to_thread(next, pieces, b""):
                yield piece
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    async def ensure_bucket(self) -> None:
        """Creates the bucket when missing, with a rule that aborts uploads left unfinished for a day (a crash, a
        lost connection). An existing bucket is left as its owner configured it."""
        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except self.client.exceptions.ClientError:
            await asyncio.to_thread(self.client.create_bucket, Bucket=self.bucket)
            await asyncio.to_thread(
                self.client.put_bucket_lifecycle_configuration,
                Bucket=self.bucket,
                LifecycleConfiguration={
                    "Rules": [
                        {
                            "ID": "abort-unfinished-uploads",
                            "Status": "Enabled",
                            "Filter": {"Prefix": ""},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        }
                    ]
                },
            )


class _S3Writer(_Buffered):
    def __init__(self, store: S3Blobs, key: str):
        super().__init__(PART)
        self.store = store
        self.key = key
        self.upload_id: str | None = None
        self.parts: list[dict] = []

    def _call(self, method: str, **kw):
        return asyncio.to_thread(getattr(self.store.client, method), Bucket=self.store.bucket, Key=self.key, **kw)

    async def flush(self, piece: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = (await self._call("create_multipart_upload"))["UploadId"]
        number = len(self.parts) + 1
        answer = await self._call("upload_part", UploadId=self.upload_id, PartNumber=number, Body=piece)
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    async def commit(self) -> None:
        await self.flushed()  # a first part under way has begun the multipart upload
        if self.upload_id is None:  # smaller than one part: a single PUT
            await self._call("put_object", Body=bytes(self.pending))
            self.pending.clear()
            return
        await self.rest()
        await self._call("complete_multipart_upload", UploadId=self.upload_id, MultipartUpload={"Parts": self.parts})

    async def abort(self) -> None:
        await self.settle()
        if self.upload_id is not None:
            await self._call("abort_multipart_upload", UploadId=self.upload_id)


def _s3(settings) -> S3Blobs:
    return _s3_client(
        settings.evidence_s3_url,
        settings.evidence_s3_bucket,
        settings.evidence_s3_region,
        settings.evidence_s3_access_key,
        settings.evidence_s3_secret_key.get_secret_value(),
    )


@functools.lru_cache(maxsize=8)
def _s3_client(*args: str) -> S3Blobs:
    return S3Blobs(*args)  # one client per endpoint and credentials: boto3 clients are thread-safe and slow to make


def blob_store(settings, sessions) -> BlobStore:
    """Where new files go: S3 when REFERRALS_EVIDENCE_S3_URL is set, else PostgreSQL."""
    return _s3(settings) if settings.evidence_s3_url else PostgresBlobs(sessions)


def blob_store_named(name: str, settings, sessions) -> BlobStore:
    """The adapter a file was stored with (a file stays readable where it went, whatever is configured now)."""
    if name == S3Blobs.name:
        if not settings.evidence_s3_url:
            raise RuntimeError("a file is stored in S3 but REFERRALS_EVIDENCE_S3_URL is not set")
        return _s3(settings)
    return PostgresBlobs(sessions)
