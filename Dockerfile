# One image for the API, the worker, the migrations and the `referrals` command: the runtime dependencies
# only, at the versions requirements.lock pins, and the package installed from its wheel (the policy files and
# templates with it, under /opt/venv/share/incident-referrals), run by an unprivileged user; LibreOffice for the PDFs.

FROM python:3.11.14-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml requirements.lock ./
# [project].dependencies alone (no dev or test extra), the lock as constraints.
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > runtime.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -r runtime.txt -c requirements.lock
# The package itself (not editable, no PYTHONPATH): its code, and policy/ and templates/ as its data.
COPY referrals ./referrals
COPY policy ./policy
COPY templates ./templates
RUN /opt/venv/bin/pip install --no-deps . && /opt/venv/bin/pip check

FROM python:3.11.14-slim-bookworm
# The release it is: tag the image with the same version (`docker build -t incident-referrals:1.0.0 .`; compose and
# deploy/kubernetes/ name that tag), and `referrals --version` says it too.
LABEL org.opencontainers.image.title="incident-referrals" org.opencontainers.image.version="1.0.0"
# LibreOffice makes each document's PDF: the worker starts it through unoserver, whose server runs under Debian's
# python3 (python3-uno is LibreOffice's module for it). Carlito is metrically Calibri: the pages break as in Word.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libreoffice-writer-nogui python3-uno fonts-crosextra-carlito fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin referrals
# Owned by root: the application can read its code, policy and templates but not change them.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# `alembic upgrade head` (compose's migrate service) reads it; the migrations are in the package.
COPY alembic.ini ./
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER referrals
EXPOSE 8000
# --no-proxy-headers: only REFERRALS_TRUSTED_PROXIES may name the client's address (referrals/api/client_address.py).
CMD ["uvicorn", "--factory", "referrals.api.main:create_app", "--no-proxy-headers", "--host", "0.0.0.0", "--port", "8000"]
