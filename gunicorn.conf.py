"""gunicorn settings for `make serve` and production. Everything can be overridden from the
environment (GUNICORN_CMD_ARGS, WEB_CONCURRENCY, PORT)."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Pages wait on the database, not the CPU: a few threads per worker keep both cores busy.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
# Idle keep-alive connections outlive the load balancer's (ALB: 60 s), so the balancer never
# reuses a connection gunicorn has just closed (a reset for the staff member). gthread keeps idle
# connections in its selector, not in a thread. Measured: at 5 s, sessions pausing 3-10 s
# between pages hit the race (a "connection reset by peer" in make load).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
access_log_format = '{"remote": "%(h)s", "request": "%(r)s", "status": %(s)s, "bytes": %(B)s, "ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
errorlog = "-"
