"""The public figures under load: 50 concurrent readers against /healthz and /public/stats in the same run
(requests per second of each, and their ratio: the target is at least 0.8), a conditional request answered 304,
and the desk's p99 (the case list, signed in, at a modest rate) without and during a burst of public reads.
Then the same through the compose stack's front door (`front_door`): nginx with deploy/nginx/temporal-ui.conf, its
upstream this API, which caches the public figures; the desk and the burst both go through it, as in compose, and
/metrics says how many of the burst's reads reached the API. For comparison, the desk during a burst of the same
readers at an nginx answer that involves neither the API nor the cache (`return 200`): what the readers' process
and nginx cost the machine alone. Skipped where nginx is not installed (Debian's nginx-light, as
tests/test_temporal_ui.py runs it).

    python -m bench.public_stats [--concurrency 50] [--seconds 10]

The readers run in a process of their own, so the desk's client does not share their event loop. Prints JSON.
"""

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bench.stack import Stack
from referrals.config import ROOT
from referrals.devstack import procs
from referrals.devstack.front_door import NGINX
from referrals.devstack.front_door import configure as front_door_conf
from referrals.devstack.front_door import start as start_front_door
from tests.support.scenario import FILING

TARGET_RATIO = 0.8
DESK_INTERVAL = 0.05  # the desk's client: one request every 50 ms
ROUNDS = 3  # /healthz and /public/stats measured in turn, this many times each


async def readers(url: str, concurrency: int, seconds: float) -> dict:
    """`concurrency` readers, each asking `url` again as soon as it is answered, for `seconds`."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    statuses: dict[int, int] = {}
    cache: dict[str, int] = {}  # X-Cache-Status, through the front door
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        await http.get(url)  # connections warm
        stop = time.monotonic() + seconds

        async def reader():
            while time.monotonic() < stop:
                answer = await http.get(url)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                if (cached := answer.headers.get("x-cache-status")) is not None:
                    cache[cached] = cache.get(cached, 0) + 1

        began = time.monotonic()
        await asyncio.gather(*(reader() for _ in range(concurrency)))
        elapsed = time.monotonic() - began
    done = sum(statuses.values())
    return {
        "url": url,
        "requests": done,
        "rps": round(done / elapsed, 1),
        "statuses": statuses,
        **({"cache_statuses": cache} if cache else {}),
    }


def _readers_process(url: str, concurrency: int, seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.public_stats", "readers", url, str(concurrency), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


async def _run_readers(url: str, concurrency: int, seconds: float) -> dict:
    proc = _readers_process(url, concurrency, seconds)
    out, _ = await asyncio.to_thread(proc.communicate)
    return json.loads(out)


def _combined(runs: list[dict]) -> dict:
    statuses: dict[str, int] = {}
    for run in runs:
        for status, n in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "url": runs[0]["url"],
        "requests": sum(r["requests"] for r in runs),
        "rps": round(sum(r["rps"] for r in runs) / len(runs), 1),
        "rps_by_round": [r["rps"] for r in runs],
        "statuses": statuses,
    }


def _ms(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
    }


async def desk(api_url: str, token: str, seconds: float) -> dict:
    """The case list, signed in, once every DESK_INTERVAL: its latency in ms."""
    samples = []
    async with httpx.AsyncClient(base_url=api_url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            began = time.monotonic()
            answer = await http.get("/incidents", params={"limit": 25})
            answer.raise_for_status()
            samples.append((time.monotonic() - began) * 1000)
            await asyncio.sleep(max(0.0, DESK_INTERVAL - (time.monotonic() - began)))
    return _ms(samples)


@asynccontextmanager
async def front_door(api_port: int):
    """nginx with the compose front door's site file, its upstream the API on `api_port`: its address, and that of
    a server beside it whose every answer is nginx's own (`return 200`)."""
    folder = Path(tempfile.mkdtemp(prefix="referrals-nginx-"))
    port, static_port = procs.free_port(), procs.free_port()
    conf = front_door_conf(
        folder,
        port=port,
        api_port=api_port,
        ui_port=procs.free_port(),  # (the UI: unused)
        more=f"""    server {{
        listen 127.0.0.1:{static_port};
        location / {{ return 200 "{{}}"; }}
    }}""",
    )
    proc = start_front_door(folder, conf, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    (await client.get(f"{base}/healthz")).raise_for_status()
                    break
                except httpx.TransportError:
                    if proc.poll() is not None:
                        raise RuntimeError(f"nginx exited: {(folder / 'error.log').read_text()[-2000:]}") from None
                    await asyncio.sleep(0.05)
        yield base, f"http://127.0.0.1:{static_port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


async def _api_answers(api_url: str, route: str) -> int:
    """How many GETs of `route` the API has answered, from its /metrics."""
    async with httpx.AsyncClient(timeout=30) as http:
        text = (await http.get(f"{api_url}/metrics")).text
    pattern = (
        rf'^referrals_http_request_duration_seconds_count\{{(?=[^}}]*route="{re.escape(route)}")'
        rf'(?=[^}}]*method="GET")[^}}]*\}} (\S+)$'
    )
    return int(sum(float(n) for n in re.findall(pattern, text, re.MULTILINE)))


async def _through_front_door(stack: Stack, concurrency: int, seconds: float) -> dict:
    """The desk's p99 without and during a burst of public readers, both through nginx."""
    if NGINX is None:
        return {"skipped": "nginx is not installed (`apt-get install nginx-light`)"}
    async with front_door(int(stack.api_url.rsplit(":", 1)[1])) as (door, static):
        quiet = await desk(door, stack.tokens["auditor"], seconds)

        async def during_burst(url: str) -> tuple[dict, dict]:
            burst = _readers_process(url, concurrency, seconds)
            await asyncio.sleep(0.5)  # the burst under way
            busy = await desk(door, stack.tokens["auditor"], seconds - 1.0)
            return busy, json.loads((await asyncio.to_thread(burst.communicate))[0])

        before = await _api_answers(stack.api_url, "/public/stats")
        busy, during = await during_burst(f"{door}/public/stats")
        reached = await _api_answers(stack.api_url, "/public/stats") - before
        control, control_burst = await during_burst(f"{static}/")

    def ratio(ms: dict) -> float | None:
        return round(ms["p99"] / quiet["p99"], 2) if quiet["p99"] else None

    return {
        "url": door,
        "desk_ms": {
            "without_burst": quiet,
            "during_burst": busy,
            "p99_ratio": ratio(busy),
            "during_a_burst_at_nginx_alone": control,
            "p99_ratio_at_nginx_alone": ratio(control),
        },
        "burst": during,
        "burst_reads_reaching_the_api": reached,
        "burst_at_nginx_alone": control_burst,
    }


async def _publish(stack: Stack) -> dict:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "referrals.cli",
        "publish",
        "--json",
        cwd=ROOT,
        env=stack.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"referrals publish exited {proc.returncode}: {err.decode()[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


async def main_async(concurrency: int = 50, seconds: float = 10.0, cases: int = 10) -> dict:
    async with Stack.started() as stack:
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
            for _ in range(cases):  # a case list with something in it
                filed = await http.post(
                    "/incidents",
                    json=FILING,
                    headers={
                        "Authorization": f"Bearer {stack.tokens['officer']}",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                )
                filed.raise_for_status()
            snapshot = await _publish(stack)
            # The API learns of a snapshot published elsewhere within REFERRALS_PUBLIC_REFRESH_SECONDS, and loads the
            # latest when it starts: started again, it serves this one now.
            stack.stop_api()
            await stack.start_api()
            latest = await http.get("/public/stats")
            if latest.status_code != 200 or latest.json()["snapshot_id"] != snapshot["id"]:
                raise RuntimeError(f"the API does not serve the snapshot published: {latest.status_code}")
            conditional = await http.get("/public/stats", headers={"If-None-Match": latest.headers["ETag"]})
        # In alternating rounds, so that whatever else the machine does weighs on both alike.
        rounds = {"healthz": [], "public/stats": []}
        for _ in range(ROUNDS):
            for path, runs in rounds.items():
                runs.append(await _run_readers(f"{stack.api_url}/{path}", concurrency, seconds / ROUNDS))
        healthz, public = (_combined(runs) for runs in rounds.values())
        quiet = await desk(stack.api_url, stack.tokens["auditor"], seconds)
        burst = _readers_process(f"{stack.api_url}/public/stats", concurrency, seconds)
        await asyncio.sleep(0.5)  # the burst under way
        busy = await desk(stack.api_url, stack.tokens["auditor"], seconds - 1.0)
        during = json.loads((await asyncio.to_thread(burst.communicate))[0])
        through_nginx = await _through_front_door(stack, concurrency, seconds)
    ratio = round(public["rps"] / healthz["rps"], 2) if healthz["rps"] else 0.0
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "healthz": healthz,
        "public_stats": public,
        "ratio": ratio,
        "conditional": {
            "status": conditional.status_code,
            "etag": latest.headers["ETag"],
            "cache_control": latest.headers["Cache-Control"],
            "body_bytes": len(conditional.content),
        },
        "desk_ms": {
            "without_burst": quiet,
            "during_burst": busy,
            "p99_ratio": round(busy["p99"] / quiet["p99"], 2) if quiet["p99"] else None,
        },
        "burst": during,
        "front_door": through_nginx,
        "targets": {
            f"public_stats_rps_at_least_{TARGET_RATIO}x_healthz": {"ratio": ratio, "ok": ratio >= TARGET_RATIO},
            "conditional_304": {"ok": conditional.status_code == 304},
        },
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "readers":  # the readers' own process
        url, concurrency, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        print(json.dumps(asyncio.run(readers(url, concurrency, seconds))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent public readers")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each measurement runs")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args.concurrency, args.seconds)), indent=2))


if __name__ == "__main__":
    main()
