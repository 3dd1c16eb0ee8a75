"""Everything `make demo` sets up, as plain functions the demo command calls in order."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

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
