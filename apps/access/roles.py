"""The back-office's roles: which schemas each sees, and what else it may do.

One declaration; ``sync_roles`` makes the Django groups match it (after every ``migrate``, and
on demand with ``python manage.py sync_roles``). Brand binding is separate (``StaffBrand``):
a brand manager is this role *plus* one or more brands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig, apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from apps.access import permissions
from backoffice.platform_schemas import SCHEMA_NAMES


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    schemas: tuple[str, ...]
    permissions: tuple[str, ...] = ()  # "app_label.codename"
    #: Works for brands: never platform-wide, and with no brand bound sees nothing.
    brand_bound: bool = False


# Support also sees webhooks: partners' missed deliveries reach support first, and redelivery is theirs.
SUPPORT_SCHEMAS = (
    "identity", "commerce", "payments", "comms", "booking", "cash",
    "membership", "community", "follows", "integrations", "webhooks",
)  # fmt: skip
COMMERCIAL_SCHEMAS = (
    "commerce", "affiliates", "membership", "comms", "community",
    "content", "analytics", "cash", "entitlements",
)  # fmt: skip

ROLES: tuple[Role, ...] = (
    Role(
        "support",
        "Customer-facing schemas; contact details visible, PHI masked.",
        SUPPORT_SCHEMAS,
        (
            permissions.VIEW_CONTACT,
            *(
                permissions.run_action(name)
                for name in (
                    "refund_charge",
                    "cancel_subscription",
                    "revoke_sessions",
                    "lock_user",
                    "unlock_user",
                    "add_suppression",
                    "remove_suppression",
                    "hide_post",
                    "restore_post",
                    "redeliver_webhook",
                )
            ),
            permissions.VIEW_ACTION_REQUESTS,
        ),
    ),
    Role(
        "compliance",
        "Every schema and every audit log; reveals PHI with a reason; exports.",
        SCHEMA_NAMES,
        (
            permissions.VIEW_CONTACT,
            permissions.REVEAL_PHI,
            permissions.EXPORT_RECORDS,
            permissions.VIEW_BACKOFFICE_AUDIT,
            permissions.VIEW_ACCESS_REPORTS,
            permissions.VIEW_AUDIT_EVENTS,
            "services.run_acknowledge_red_flag",
            "services.run_post_adjustment",
            permissions.APPROVE_MONEY_ACTIONS,
            permissions.VIEW_ACTION_REQUESTS,
        ),
    ),
    Role(
        "brand_manager",
        "Commercial schemas of their own brands only; never PHI schemas; contact details masked.",
        COMMERCIAL_SCHEMAS,
        (
            permissions.EXPORT_RECORDS,
            *(
                permissions.run_action(name)
                for name in (
                    "remove_suppression",
                    "hide_post",
                    "restore_post",
                    "hold_payout",
                    "release_payout",
                )
            ),
            permissions.VIEW_ACTION_REQUESTS,
        ),
        brand_bound=True,
    ),
)
ROLE_NAMES = tuple(role.name for role in ROLES)


def get_role(name: str) -> Role:
    for role in ROLES:
        if role.name == name:
            return role
    raise KeyError(f"Unknown role {name!r}; roles are {', '.join(ROLE_NAMES)}")


def _permissions_for(role: Role) -> list[Permission]:
    view_models = [m for schema in role.schemas for m in apps.get_app_config(schema).get_models()]
    content_types = ContentType.objects.get_for_models(*view_models, for_concrete_models=False).values()
    wanted = list(Permission.objects.filter(content_type__in=content_types, codename__startswith="view_"))
    for dotted in role.permissions:
        app_label, codename = dotted.split(".")
        wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return wanted


@transaction.atomic
def sync_roles() -> dict[str, int]:
    """Create or update every role's group so its permissions are exactly the declaration's."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)  # platform apps have no migrations of their own
    counts = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role.name)
        permissions = _permissions_for(role)
        group.permissions.set(permissions)
        counts[role.name] = len(permissions)
    return counts


def sync_roles_after_migrate(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    if using == "default":
        sync_roles()
