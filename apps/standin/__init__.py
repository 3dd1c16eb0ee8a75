"""A faithful stand-in for the platform's services, for the demo and the tests only.

A real HTTP server (Werkzeug) that answers each back-office action the way the owning service
would: bearer token, validation, a write to the service's own schema as its owner role, the
service's audit_log row, idempotency keys, plus injectable faults. Its contract is
``apps/standin/openapi.json``. It has no real authentication on its control endpoints, so it
must never be reachable from outside the machine running it.
"""
