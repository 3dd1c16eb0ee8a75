#!/usr/bin/env bash
# Load run: gunicorn (the production way) on loopback, then locust headless for a bounded time.
# The platform is read as production reads it: through PgBouncer (transaction mode) from the
# embedded server's streaming standby (PGBOUNCER=1 PLATFORM_REPLICA=1); LOAD_DIRECT=1 reads the
# primary directly instead.
# Usage: make load [USERS=50] [DURATION=120s] [SPAWN_RATE=1] [LOAD_DIRECT=1] [LOAD_THINK=3-10]; run it on the large
# seed (make seed-large). LOAD_THINK is each session's pause between pages in seconds (min-max):
# 3-10 reads like a person; 0.2-1.0 is a stress test of pages per second.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${USERS:-50}"
DURATION="${DURATION:-120s}"
# Staff log in over time, not all in the same second (a login is ~0.5 s of CPU for the password
# hash): SPAWN_RATE sessions start per second; the figures count from the last one on.
SPAWN_RATE="${SPAWN_RATE:-1}"
PORT="${LOAD_PORT:-8011}"
BIN=.venv/bin
export DJANGO_DEBUG=false LOG_FORMAT=json DJANGO_SETTINGS_MODULE=backoffice.settings.local
if [ "${LOAD_DIRECT:-0}" != 1 ]; then
  export PLATFORM_REPLICA=1 PGBOUNCER=1
fi
echo "platform reads: PLATFORM_REPLICA=${PLATFORM_REPLICA:-0} PGBOUNCER=${PGBOUNCER:-0}; $USERS staff sessions for $DURATION, ${LOAD_THINK:-3-10} s between pages"
export LOAD_PASSWORD="$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(16))')"
export LOAD_HEAVY_USER="$($BIN/python -c 'from apps.refcluster.generator import user_id, HEAVY_USER_INDEX; print(user_id(HEAVY_USER_INDEX))')"
$BIN/python manage.py collectstatic --noinput -v0
$BIN/python manage.py migrate --noinput -v0
$BIN/python manage.py shell -c "
from django.contrib.auth import get_user_model
u, _ = get_user_model().objects.get_or_create(username='loadtest', defaults={'is_staff': True, 'is_superuser': True})
u.set_password('$LOAD_PASSWORD'); u.save()"
# Start the standby and PgBouncer before the clock starts (the first base backup of the large seed
# takes minutes) and hold them for the run: the last process using them stops them (SIGTERM ends
# this holder cleanly, after gunicorn's workers).
READY="var/.load-platform-ready"
rm -f "$READY"
$BIN/python manage.py shell -c "
import signal, sys
from django.db import connections
from apps.core.routers import is_platform_alias
signal.signal(signal.SIGTERM, lambda *args: sys.exit(0))
for alias in filter(is_platform_alias, connections):
    connections[alias].ensure_connection()
    connections[alias].close()
open('$READY', 'w').close()
signal.pause()" &
HOLDER=$!
for _ in $(seq 1200); do
  [ -e "$READY" ] && break
  kill -0 $HOLDER 2>/dev/null || { echo "the platform servers did not start"; exit 1; }
  sleep 0.5
done
$BIN/gunicorn backoffice.wsgi -c gunicorn.conf.py --bind "127.0.0.1:$PORT" --access-logfile /dev/null &
GUNICORN=$!
cleanup() {
  kill $GUNICORN 2>/dev/null; wait $GUNICORN 2>/dev/null || true
  kill $HOLDER 2>/dev/null; wait $HOLDER 2>/dev/null || true
  rm -f "$READY"
}
trap cleanup EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
$BIN/locust -f benchmarks/locustfile.py --headless --host "http://127.0.0.1:$PORT" \
  --users "$USERS" --spawn-rate "$SPAWN_RATE" --run-time "$DURATION" --reset-stats --only-summary --stop-timeout 5
