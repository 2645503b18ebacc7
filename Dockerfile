# warmline worker image (used by docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY warmline ./warmline
RUN pip install --no-cache-dir .
ENV WARMLINE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 6066
# The demo directory is generated on first start when absent (deterministic, ~1 s).
CMD ["sh", "-c", "warmline demo-data && exec warmline worker"]
