"""Everything `make demo` sets up, as plain functions the demo command calls in order."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.access.roles import sync_roles
from apps.access.services import assign_role


@dataclass
class DemoStaff:
    role: str
    username: str
    password: str
    brands: list[str] = field(default_factory=list)
    platform_wide: bool = False


# (role, username, brands, platform-wide). Platform-wide is a grant, never implied by no brands.
DEMO_STAFF: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("support", "support", (), True),
    ("compliance", "compliance", (), True),
    ("brand_manager", "capri-manager", ("capri",), False),
    ("superuser", "admin", (), True),
)


@transaction.atomic
def create_demo_staff() -> list[DemoStaff]:
    """Create (or refresh) one staff account per role, each with a newly generated password."""
    sync_roles()
    user_model = get_user_model()
    created = []
    for role, username, brands, platform_wide in DEMO_STAFF:
        user, _ = user_model.objects.get_or_create(username=username)
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        assign_role(user=user, role=role, brands=brands, platform_wide=platform_wide)
        created.append(
            DemoStaff(
                role=role,
                username=username,
                password=password,
                brands=list(brands),
                platform_wide=platform_wide,
            )
        )
    return created


def write_demo_file(
    path: Path, *, base_url: str, database_url: str, platform_database_url: str, staff: list[DemoStaff]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "base_url": base_url,
        "database_url": database_url,
        "platform_database_url": platform_database_url,
        "staff": [asdict(member) for member in staff],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    path.chmod(0o600)  # it holds passwords


DEMO_WATCH_REQUEST = "demo-watch-seed"


def seed_watch_demo() -> int:
    """Seeded behaviour for the watch section (once): a night-time reveal spree by a demo account
    with no support context, a normal day's work, and two shared rules; then one anomaly scan so
    the compliance dashboard shows live flags. Returns the flags raised."""
    import datetime as dt

    from django.utils import timezone

    from apps.auditlog import events
    from apps.auditlog.models import AuditEvent
    from apps.explorer.query import AuditQuery
    from apps.watch.anomalies import scan
    from apps.watch.services import create_rule, save_search

    user_model = get_user_model()
    yesterday = (timezone.now() - dt.timedelta(days=1)).astimezone(dt.UTC)
    yesterday = yesterday.replace(hour=0, minute=0, second=0, microsecond=0)
    if not AuditEvent.objects.filter(request_id=DEMO_WATCH_REQUEST).exists():
        night, _ = user_model.objects.get_or_create(username="night-owl", defaults={"is_active": False})
        day = user_model.objects.get(username="support")

        def log(event_type: str, actor: Any, at: dt.datetime, entity_id: str, **details: object) -> None:
            AuditEvent.objects.create(
                occurred_at=at, actor_type="staff", actor_id=str(actor.pk), event_type=event_type,
                brand_id="capri", entity_type="clinical.Patient", entity_id=entity_id,
                request_id=DEMO_WATCH_REQUEST, details=details or None,
            )  # fmt: skip

        for n in range(30):
            log(events.PHI_REVEALED, night, yesterday.replace(hour=3) + dt.timedelta(seconds=20 * n),
                f"demo-patient-{n}", reason="checking")  # fmt: skip
        for n in range(3):
            at = yesterday.replace(hour=10) + dt.timedelta(minutes=30 * n)
            log(events.SERVICE_ACTION_REQUESTED, day, at, f"demo-customer-{n}")
            log(events.PHI_VIEWED, day, at + dt.timedelta(minutes=2), f"demo-customer-{n}")
        officer = user_model.objects.get(username="compliance")
        reveals = save_search(
            owner=officer, name="PHI reveals", query=AuditQuery(event_type=events.PHI_REVEALED),
            shared_role="compliance",
        )  # fmt: skip
        create_rule(search=reveals, actor=officer, kind="threshold", threshold=10, window_minutes=10)
        exports = save_search(
            owner=officer, name="PHI exports", query=AuditQuery(event_type=events.PHI_EXPORTED),
            shared_role="compliance",
        )  # fmt: skip
        create_rule(search=exports, actor=officer)
    return scan(since=yesterday).flags
