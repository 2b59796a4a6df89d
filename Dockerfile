# trunkml serve: the REST server that follows @champion in a shared MLflow registry.
#   docker build -t trunkml-serve .
#   docker run -p 8000:8000 -e MLFLOW_TRACKING_URI=http://mlflow:5000 -e TRUNKML_API_KEY \
#     -v "$PWD/endpoints/hate-pt-speech/endpoint.yaml:/srv/endpoint.yaml:ro" \
#     -v "$PWD/trunkml.yaml:/srv/trunkml.yaml:ro" -v "$PWD/allowed_signers:/srv/allowed_signers:ro" trunkml-serve
# In prod the server loads a champion only if its promotion chain verifies against those two files.
# Dependencies come from requirements/serve.lock (hash-pinned: the server and the TF-IDF model family);
# the build tools from requirements/build.lock.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY requirements/serve.lock requirements/build.lock requirements/
RUN python -m venv /opt/trunkml \
    && /opt/trunkml/bin/pip install --require-hashes --no-deps -r requirements/serve.lock \
    && /opt/trunkml/bin/pip install --require-hashes --no-deps -r requirements/build.lock
COPY pyproject.toml README.md ./
COPY src ./src
# The pinned build tools above, not whatever setuptools the index serves today.
RUN /opt/trunkml/bin/pip install --no-deps --no-build-isolation .

FROM python:3.11-slim-bookworm
RUN groupadd --gid 10001 trunkml \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin trunkml \
    && mkdir -p /var/lib/trunkml /srv \
    && chown trunkml:trunkml /var/lib/trunkml
COPY --from=build /opt/trunkml /opt/trunkml
ENV PATH=/opt/trunkml/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TRUNKML_HOME=/var/lib/trunkml \
    TRUNKML_PROJECT=/srv \
    TRUNKML_ENDPOINT=/srv/endpoint.yaml \
    TRUNKML_ENV=prod
WORKDIR /srv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["trunkml", "serve", "--host", "0.0.0.0", "--port", "8000"]
CMD ["--workers", "2"]
