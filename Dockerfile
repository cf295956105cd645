# syntax=docker/dockerfile:1
# The hivepulse image: `hivepulse` as the entry point, the workspace on a volume, non-root, read-only-root ready.
# CI cannot build it (no container daemon, no registry): it is linted there instead (hadolint, checkov and the
# policy check in deploy/checks/dockerfile_policy.py). Build and pin: docs/deploy.md#the-image.
#
# Base image: a full Python version tag, the same in both stages (the venv's python links to the base's).
# Pin it to its digest when you build: `docker buildx imagetools inspect python:3.11.13-slim-bookworm`, then
# FROM python:3.11.13-slim-bookworm@sha256:<digest> (no digest is stated here: none was pulled).

# ---- build: resolve nothing, verify everything -------------------------------------------------------------
FROM python:3.11.13-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /build

# The build backend (setuptools), hash-pinned, in a venv of its own that never reaches the final stage.
COPY deploy/image/build-requirements.lock ./
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --only-binary=:all: -r build-requirements.lock

# Every runtime dependency from the project's lock, verified by hash, wheels only (no compiler needed or
# present), nothing beyond the lock (--no-deps), into a venv without pip or setuptools of its own.
COPY requirements.lock ./
RUN python -m venv --without-pip /opt/hivepulse \
 && /opt/build/bin/pip --python /opt/hivepulse/bin/python install \
      --require-hashes --only-binary=:all: --no-deps -r requirements.lock \
 && /opt/build/bin/pip --python /opt/hivepulse/bin/python check

# hivepulse itself, built from src/ into a wheel and installed without resolving anything.
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation -w /build/dist . \
 && /opt/build/bin/pip --python /opt/hivepulse/bin/python install --no-deps --no-index /build/dist/hivepulse-*.whl \
 && /opt/hivepulse/bin/python -m ipykernel install --sys-prefix --name python3 \
 && /opt/hivepulse/bin/hivepulse --version

# ---- runtime: the venv and a non-root user, nothing else ------------------------------------------------------
FROM python:3.11.13-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="hivepulse" \
      org.opencontainers.image.description="Blameless DORA retros and pulls for HiveBox teams" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/hivebox-team/hivepulse"

# No package installer in the final image; a fixed numeric user the cluster's runAsUser matches.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
 && groupadd --system --gid 10001 hivepulse \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /workspace \
      --shell /usr/sbin/nologin hivepulse \
 && mkdir -p /workspace \
 && chown 10001:10001 /workspace

COPY --from=build /opt/hivepulse /opt/hivepulse

# A read-only root file system: everything a run writes goes to /workspace (the volume) or /tmp (an
# emptyDir on Kubernetes): Jupyter's runtime files, matplotlib's cache, IPython's profile.
ENV PATH=/opt/hivepulse/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    JUPYTER_RUNTIME_DIR=/tmp/jupyter/runtime \
    JUPYTER_DATA_DIR=/tmp/jupyter/data \
    IPYTHONDIR=/tmp/ipython \
    XDG_CACHE_HOME=/tmp/cache

WORKDIR /workspace
VOLUME ["/workspace"]
USER 10001:10001
# A batch command, not a service: Kubernetes judges a run by its exit code (docs/cli.md).
HEALTHCHECK NONE
ENTRYPOINT ["hivepulse"]
CMD ["--help"]
