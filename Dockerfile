# ECE Honduras: one image for every role; the command picks it (docker-compose.yml):
#   ece migrate   apply the Alembic migrations (run once per release, before the API)
#   ece serve     the API; it refuses to start on a database that is not migrated
#   ece worker    Celery worker          ece beat    Celery beat (exactly one)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ECE_DATA_DIR=/var/lib/ece

RUN useradd --system --user-group --uid 10001 --home-dir /var/lib/ece --create-home \
        --shell /usr/sbin/nologin ece

WORKDIR /src
COPY . .
# app.migrate reads alembic.ini and migrations/ from app.settings.PROJECT_ROOT, the directory above the
# installed `app` package (site-packages once installed), so they go next to it. The last step loads the
# migration scripts from there and fails the build if they are not found.
RUN pip install . \
    && cd / \
    && root="$(python -c 'from app.settings import PROJECT_ROOT; print(PROJECT_ROOT)')" \
    && cp -r /src/alembic.ini /src/migrations "$root"/ \
    && rm -rf /src \
    && python -c "from alembic.script import ScriptDirectory; from app.migrate import alembic_config; \
print('alembic head:', ScriptDirectory.from_config(alembic_config('postgresql://build-check/ece')).get_current_head())"

# ECE_DATA_DIR: the beat schedule file (and the embedded PostgreSQL, only if ECE_DATABASE_URL is unset).
WORKDIR /var/lib/ece
USER ece

EXPOSE 8000
CMD ["ece", "serve", "--host", "0.0.0.0", "--port", "8000"]
