# logalert next to an EFK stack: mount your config.yaml and rules/ over the defaults.
#   docker run -v $PWD/config.yaml:/app/config.yaml:ro -v $PWD/rules:/app/rules:ro \
#              -e LOGALERT_ES_HOST=elasticsearch logalert
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MALLOC_ARENA_MAX=2 \
    LOGALERT_HEALTH_PORT=8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY logalert ./logalert
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /app logalert
COPY config.yaml ./config.yaml
COPY rules ./rules

USER 10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

ENTRYPOINT ["logalert"]
CMD ["run", "--config", "/app/config.yaml"]
