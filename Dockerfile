# One image for the API, the worker, the migrations and the `referrals` command:
# the runtime dependencies only, at the versions requirements.lock pins, run from the source tree
# (referrals/config.py finds policy/ and templates/ beside the package) by an unprivileged user.

FROM python:3.11.14-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
COPY pyproject.toml requirements.lock ./
# [project].dependencies alone (no dev or test extra), the lock as constraints.
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
        > runtime.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -r runtime.txt -c requirements.lock \
    && /opt/venv/bin/pip check \
    && printf '#!/bin/sh\nexec python -m referrals.cli "$@"\n' > /opt/venv/bin/referrals \
    && chmod 755 /opt/venv/bin/referrals

FROM python:3.11.14-slim-bookworm
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin referrals
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Owned by root: the application can read its code, policy and templates but not change them.
COPY . .
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER referrals
EXPOSE 8000
# --no-proxy-headers: only REFERRALS_TRUSTED_PROXIES may name the client's address (referrals/api/client_address.py).
CMD ["uvicorn", "--factory", "referrals.api.main:create_app", "--no-proxy-headers", "--host", "0.0.0.0", "--port", "8000"]
