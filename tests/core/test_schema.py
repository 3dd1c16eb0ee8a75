"""Generated models match the cluster; drift is reported and survived."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.core import drift

pytestmark = pytest.mark.django_db(databases="__all__")


def test_generated_models_match_the_reference_cluster():
    out = StringIO()
    call_command("inspectschemas", check=True, stdout=out)  # raises CommandError with a diff otherwise
    assert out.getvalue() == ""


def test_inspectschemas_maps_types_relations_and_references():
    out = StringIO()
    call_command("inspectschemas", "identity", "community", "content", print_only=True, stdout=out)
    text = out.getvalue()
    assert "class UserStatus(models.TextChoices):" in text
    assert "status = models.TextField(choices=UserStatus.choices)" in text
    assert 'user = models.ForeignKey("User", models.DO_NOTHING)' in text  # FK inside identity
    assert "ip = models.GenericIPAddressField(blank=True, null=True)" in text
    assert "redirect_uris = ArrayField(models.TextField())" in text
    assert 'pk = models.CompositePrimaryKey("post_id", "user_id")' in text
    assert 'author_user_id = ServiceRef(to="identity.User")' in text  # cross-service: text, not a relation
    assert "id = models.AutoField(primary_key=True)" in text  # content's SERIAL ids
    assert "class AuditLog(StandardAuditLog):" in text


def test_inspectschemas_rejects_an_unknown_schema():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown platform schema"):
        call_command("inspectschemas", "nosuchschema", check=True, stdout=StringIO())


def test_schema_drift_is_clean_on_the_reference_cluster():
    out = StringIO()
    call_command("schema_drift", "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    assert report == {"breaking": [], "news": [], "ok": True, "unclassified": []}


@pytest.fixture
def drifted_cluster(cluster_admin):
    """jobs.job_runs loses its last column and gains a new one, as expand/contract would do."""
    cluster_admin.execute("ALTER TABLE jobs.job_runs DROP COLUMN finished_at")
    cluster_admin.execute("ALTER TABLE jobs.job_runs ADD COLUMN priority INTEGER")
    cluster_admin.execute("CREATE TABLE jobs.job_locks (id UUID PRIMARY KEY, brand_id TEXT NOT NULL)")
    drift.forget_missing_columns()
    yield
    # The test's own transaction still holds a read lock on the table (pytest-django rolls it back
    # after this teardown): end that session, as the roles' idle timeout would, rather than wait.
    cluster_admin.execute(
        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'jobs' AND c.relname = 'job_runs' AND l.pid <> pg_backend_pid()"
    )
    cluster_admin.execute("DROP TABLE jobs.job_locks")
    cluster_admin.execute("ALTER TABLE jobs.job_runs DROP COLUMN priority")
    cluster_admin.execute("ALTER TABLE jobs.job_runs ADD COLUMN finished_at TIMESTAMPTZ")  # last again
    drift.forget_missing_columns()


def test_schema_drift_reports_a_dropped_column_as_breaking_and_new_ones_as_news(drifted_cluster):
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("schema_drift", "--schema", "jobs", stdout=out)
    assert exit_info.value.code == 1
    text = out.getvalue()
    assert "BREAKING  jobs.job_runs.finished_at" in text
    assert "news      jobs.job_runs.priority is new" in text
    assert "news      jobs.job_locks is new" in text


def test_pages_over_a_table_that_lost_a_column_still_render(drifted_cluster, admin_client, cluster_admin):
    changelist = admin_client.get(reverse("admin:jobs_jobrun_changelist"))
    assert changelist.status_code == 200
    page = changelist.content.decode()
    assert "no longer has: finished_at" in page
    job_id = cluster_admin.execute("SELECT id FROM jobs.job_runs LIMIT 1").fetchone()[0]
    detail = admin_client.get(reverse("admin:jobs_jobrun_change", args=[job_id]))
    assert detail.status_code == 200
    assert "unavailable" in detail.content.decode()
    assert str(job_id) in detail.content.decode()
