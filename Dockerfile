# The orderflow image: the `orderflow` CLI (worker, topics, demo, ...) on Python 3.11.
# Used by docker-compose.yml for the `topics`, `schemas` and `worker` services.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ORDERFLOW_DATA_DIR=/data

WORKDIR /app

# Dependencies in their own layer, read from pyproject.toml, so that editing the code
# does not reinstall chdb, faust and friends on every build.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# The whole repository, because the code finds schemas/ at the repo root next to streams/;
# an editable install keeps that layout instead of copying packages into site-packages.
COPY . .
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 1000 orderflow \
    && mkdir -p /data \
    && chown orderflow:orderflow /data

USER orderflow
VOLUME ["/data"]
# Faust's web server (ORDERFLOW_WEB_PORT).
EXPOSE 6066

ENTRYPOINT ["orderflow"]
CMD ["worker"]
