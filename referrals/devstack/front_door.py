"""The compose stack's front door (deploy/nginx/temporal-ui.conf) run by Debian's nginx on loopback, its upstreams
local addresses: for the tests and the benchmark that check the shipped site file itself."""

import os
import shutil
import subprocess
from pathlib import Path

from referrals.config import ROOT

SITE = ROOT / "deploy" / "nginx" / "temporal-ui.conf"
NGINX = shutil.which("nginx")


def configure(folder: Path, *, port: int, api_port: int, ui_port: int, more: str = "") -> Path:
    """Writes nginx.conf and the site file, as compose mounts it, into `folder`; `more`: other server blocks."""
    site = SITE.read_text()
    for compose_name, here in (
        ("server api:8000;", f"server 127.0.0.1:{api_port};"),
        ("server temporal-ui:8080;", f"server 127.0.0.1:{ui_port};"),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
        ("/var/cache/nginx/public_figures", str(folder / "public_figures")),
    ):
        if compose_name not in site:
            raise RuntimeError(f"{SITE} no longer has {compose_name!r}")
        site = site.replace(compose_name, here)
    (folder / "site.conf").write_text(site)
    conf = folder / "nginx.conf"
    # As root, nginx's workers would be `nobody`, who cannot write the cache into a private tmp folder.
    conf.write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{}}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    include {folder}/site.conf;
{more}
}}
""")
    return conf


def start(folder: Path, conf: Path, **popen) -> subprocess.Popen:
    if NGINX is None:  # Popen would raise this TypeError for None; callers skip without nginx
        raise TypeError("nginx is not on PATH")
    return subprocess.Popen([NGINX, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"], **popen)
