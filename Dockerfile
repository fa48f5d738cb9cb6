# footfall's processor (`footfall process`) for docker-compose.yml.
FROM python:3.11.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FOOTFALL_STATE_DIR=/var/lib/footfall

WORKDIR /src
COPY pyproject.toml README.md ./
COPY footfall ./footfall
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/footfall --shell /usr/sbin/nologin footfall \
    && mkdir -p /var/lib/footfall \
    && chown footfall:footfall /var/lib/footfall

USER footfall
WORKDIR /var/lib/footfall
VOLUME ["/var/lib/footfall"]
CMD ["footfall", "process"]
