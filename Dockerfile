# footfall's processor (`footfall process`) for docker-compose.yml.
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FOOTFALL_STATE_DIR=/var/lib/footfall

WORKDIR /src
COPY pyproject.toml setup.py README.md LICENSE ./
COPY footfall ./footfall
# the compiled build (docs/architecture.md "The compiled build"): mypyc compiles the hot path
# against the installed dependencies (no build isolation), with gcc, which is then removed
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install . "mypy==1.20.2" "setuptools>=77" && pip uninstall -y footfall \
    && FOOTFALL_COMPILE=1 pip install --no-deps --no-build-isolation . \
    && (cd / && python -c "import footfall; assert footfall.compiled()") \
    && pip uninstall -y mypy \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* /src/build \
    && useradd --system --uid 10001 --home-dir /var/lib/footfall --shell /usr/sbin/nologin footfall \
    && mkdir -p /var/lib/footfall \
    && chown footfall:footfall /var/lib/footfall

USER footfall
WORKDIR /var/lib/footfall
VOLUME ["/var/lib/footfall"]
CMD ["footfall", "process"]
