from django.db import migrations


class Migration(migrations.Migration):
    """Platform-wide visibility becomes an explicit grant (access.view_all_brands).

    Staff who were platform-wide only because no brand was bound to them, and are not in a
    brand-bound role, keep what they had: they are granted it here, once, visibly.
    """

    dependencies = [("access", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.AlterModelOptions(
            name="phireveal",
            options={
                "permissions": [
                    ("reveal_phi", "Can reveal protected health information with a reason"),
                    ("view_contact", "Can see customers' contact details (email, phone, address)"),
                    ("export_records", "Can export records and audit events"),
                    ("view_backoffice_audit", "Can review the back-office audit log"),
                    (
                        "view_all_brands",
                        "Platform-wide: sees every brand's records (never implied by having no brand)",
                    ),
                ]
            },
        ),
        migrations.RunPython(lambda apps, schema_editor: _grant_existing(apps), migrations.RunPython.noop),
    ]


def _grant_existing(apps) -> None:  # noqa: ANN001 - the historical app registry
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    create_permissions(global_apps.get_app_config("access"), verbosity=0, apps=apps)
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")
    grant = Permission.objects.filter(content_type__app_label="access", codename="view_all_brands").first()
    if grant is None:
        return
    unbound = User.objects.filter(is_staff=True, is_superuser=False, staff_brands__isnull=True).exclude(
        groups__name="brand_manager"
    )
    for user in unbound:
        user.user_permissions.add(grant)
