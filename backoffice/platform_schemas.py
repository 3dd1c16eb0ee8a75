"""The platform's service schemas, as ../shared/platform-reference.md lists them.

This is the one declaration of which schemas exist and which service owns each. The
reference cluster, the per-schema database aliases and the conformance checks all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSchema:
    name: str
    owner: str  # the owning service, as the platform names it
    phi: bool = False  # holds protected health information somewhere

    @property
    def owner_role(self) -> str:
        return f"svc_{self.name}"

    @property
    def readonly_role(self) -> str:
        return f"backoffice_ro_{self.name}"


SCHEMAS: tuple[ServiceSchema, ...] = (
    ServiceSchema("platform", "services/platform"),
    ServiceSchema("identity", "services/identity"),
    ServiceSchema("accounting", "services/accounting"),
    ServiceSchema("payments", "services/payments"),
    ServiceSchema("commerce", "services/commerce"),
    ServiceSchema("clinical", "services/clinical", phi=True),
    ServiceSchema("affiliates", "services/affiliates"),
    ServiceSchema("membership", "services/membership"),
    ServiceSchema("comms", "services/comms"),
    ServiceSchema("community", "services/community"),
    ServiceSchema("follows", "services/follows"),
    ServiceSchema("content", "services/content"),
    ServiceSchema("analytics", "services/analytics"),
    ServiceSchema("patient_graph", "services/patient-graph", phi=True),
    ServiceSchema("webhooks", "services/webhooks"),
    ServiceSchema("events", "services/events"),
    ServiceSchema("entitlements", "services/entitlements"),
    ServiceSchema("cash", "services/cash"),
    ServiceSchema("booking", "services/booking", phi=True),
    ServiceSchema("ai", "services/ai", phi=True),
    ServiceSchema("capri", "services/capri"),
    ServiceSchema("integrations", "services/integrations"),
    ServiceSchema("jobs", "services/jobs"),
)

SCHEMA_NAMES: tuple[str, ...] = tuple(s.name for s in SCHEMAS)
BY_NAME: dict[str, ServiceSchema] = {s.name: s for s in SCHEMAS}

# The back-office's read-only role that may read every schema (the simplest deployment).
READONLY_ROLE = "backoffice_ro"


def get_schema(name: str) -> ServiceSchema:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(SCHEMA_NAMES)
        raise KeyError(f"Unknown platform schema {name!r}; known schemas: {known}") from None
