#!/usr/bin/env bash
# Load run: gunicorn (the production way) on loopback, then locust headless for a bounded time.
# Usage: make load [USERS=20] [DURATION=60s]; run it on the large seed (make seed-large).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${USERS:-20}"
DURATION="${DURATION:-60s}"
PORT="${LOAD_PORT:-8011}"
BIN=.venv/bin
export DJANGO_DEBUG=false LOG_FORMAT=json DJANGO_SETTINGS_MODULE=backoffice.settings.local
export LOAD_PASSWORD="$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(16))')"
export LOAD_HEAVY_USER="$($BIN/python -c 'from apps.refcluster.generator import user_id, HEAVY_USER_INDEX; print(user_id(HEAVY_USER_INDEX))')"
$BIN/python manage.py collectstatic --noinput -v0
$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py shell -c "
from django.contrib.auth import get_user_model
u, _ = get_user_model().objects.get_or_create(username='loadtest', defaults={'is_staff': True, 'is_superuser': True})
u.set_password('$LOAD_PASSWORD'); u.save()"
$BIN/gunicorn backoffice.wsgi -c gunicorn.conf.py --bind "127.0.0.1:$PORT" --access-logfile /dev/null &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null; wait $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
$BIN/locust -f benchmarks/locustfile.py --headless --host "http://127.0.0.1:$PORT" \
  --users "$USERS" --spawn-rate 5 --run-time "$DURATION" --reset-stats --only-summary --stop-timeout 5
