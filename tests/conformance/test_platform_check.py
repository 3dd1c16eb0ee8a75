"""Platform conformance: the reference cluster is clean, and each broken rule is caught.

Broken clusters live in one extra database for the module, emptied and migrated again before
each case (about 0.3 s, unseeded: the checks read only the catalogue), broken by a superuser with
the DDL committed, and checked through a temporary read-only Django alias pointed at it, the way
the page and the command read the real cluster.
"""

from __future__ import annotations

import copy
import json
import os
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.urls import reverse
from psycopg import sql

from apps.conformance import checks
from apps.refcluster import services
from backoffice.databases import CATALOG_ALIAS
from backoffice.platform_schemas import SCHEMA_NAMES

pytestmark = pytest.mark.django_db(databases="__all__")

BROKEN_DATABASE = f"{settings.TEST_CLUSTER_NAME}_conformance_{os.getpid()}"
BROKEN_ALIAS = "platform_conformance_broken"


def shape(report: checks.Report) -> set[tuple[str, int, str, str | None]]:
    return {(f.severity, f.rule, f.schema, f.table) for f in report.findings}


# --- the reference cluster and the command ----------------------------------------------------


def test_the_reference_cluster_passes_clean():
    report = checks.run_checks()
    assert report.findings == []
    assert report.ok
    assert [s.status for s in report.statuses()] == ["green"] * len(SCHEMA_NAMES)
    assert report.schemas == list(SCHEMA_NAMES)


def test_command_text_output_on_the_reference_cluster():
    out = StringIO()
    call_command("platform_check", stdout=out)  # no SystemExit: exit status 0
    text = out.getvalue()
    assert "23 schema(s) checked" in text
    assert "23 green, 0 violation(s), 0 warning(s)." in text


def test_command_json_output_on_the_reference_cluster():
    out = StringIO()
    call_command("platform_check", "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] is True
    assert report["findings"] == []
    assert list(report["schemas"]) == list(SCHEMA_NAMES)
    assert {s["status"] for s in report["schemas"].values()} == {"green"}
    assert report["checked_at"]


def test_command_checks_only_the_schemas_asked_for():
    out = StringIO()
    call_command("platform_check", "--format", "json", "--schema", "identity", "--schema", "jobs", stdout=out)
    assert list(json.loads(out.getvalue())["schemas"]) == ["identity", "jobs"]


def test_command_rejects_an_unknown_schema():
    with pytest.raises(CommandError, match=r"Unknown schema\(s\): nosuchschema\. Known schemas: platform, "):
        call_command("platform_check", "--schema", "nosuchschema", stdout=StringIO())


def test_command_exits_1_on_a_violation_with_findings_grouped_per_schema(cluster_admin):
    cluster_admin.execute("ALTER TABLE jobs.job_runs ALTER COLUMN brand_id DROP NOT NULL")
    try:
        out = StringIO()
        with pytest.raises(SystemExit) as exit_info:
            call_command("platform_check", stdout=out)
    finally:
        cluster_admin.execute("ALTER TABLE jobs.job_runs ALTER COLUMN brand_id SET NOT NULL")
    assert exit_info.value.code == 1
    text = out.getvalue()
    assert "jobs: violations (1 violation(s), 0 warning(s))" in text
    assert "VIOLATION  rule 3  jobs.job_runs: jobs.job_runs.brand_id is nullable." in text
    assert "fix: ALTER TABLE jobs.job_runs ALTER COLUMN brand_id SET NOT NULL;" in text
    assert "22 green, 1 violation(s), 0 warning(s)." in text


def test_command_exits_0_on_warnings_only(cluster_admin):
    cluster_admin.execute("DROP INDEX jobs.audit_log_request_idx")
    try:
        out = StringIO()
        call_command("platform_check", "--format", "json", stdout=out)  # no SystemExit: exit status 0
    finally:
        cluster_admin.execute("CREATE INDEX audit_log_request_idx ON jobs.audit_log (request_id)")
    report = json.loads(out.getvalue())
    assert report["ok"] is True
    assert report["schemas"]["jobs"] == {"status": "warnings", "violations": 0, "warnings": 1}
    [finding] = report["findings"]
    assert finding["fix"] == "CREATE INDEX CONCURRENTLY audit_log_request_idx ON jobs.audit_log (request_id);"


# --- broken clusters, one rule at a time --------------------------------------------------------


@pytest.fixture(scope="module")
def broken_database(django_db_setup, django_db_blocker):
    """An extra cluster database for this module, with a read-only alias onto it.

    Registered before each test's transaction wrapping starts (module fixtures come first), so
    the test case allows the alias like every other one.
    """
    admin_url = settings.REFCLUSTER_ADMIN_URL
    services.create_database(admin_url=admin_url, name=BROKEN_DATABASE, replace=True)
    config = copy.deepcopy(connections.settings[CATALOG_ALIAS])
    config["NAME"] = BROKEN_DATABASE
    connections.settings[BROKEN_ALIAS] = config
    try:
        with services.connect_admin(admin_url, database=BROKEN_DATABASE) as admin:
            yield admin
    finally:
        with django_db_blocker.unblock():
            connections[BROKEN_ALIAS].close()
        del connections[BROKEN_ALIAS]
        del connections.settings[BROKEN_ALIAS]
        services.drop_database(admin_url=admin_url, name=BROKEN_DATABASE)


@pytest.fixture
def broken_cluster(broken_database):
    """A freshly migrated cluster; call it with DDL to break it (committed) and get the report."""
    admin = broken_database
    schemas = admin.execute(
        "SELECT nspname FROM pg_namespace "
        "WHERE nspname NOT IN ('information_schema', 'public') AND left(nspname, 3) <> 'pg_'"
    ).fetchall()
    with admin.transaction():
        for (schema,) in schemas:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.execute("DROP SCHEMA public CASCADE")
        admin.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
        admin.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
    services.migrate_cluster(admin_url=settings.REFCLUSTER_ADMIN_URL, database=BROKEN_DATABASE)

    def break_with(ddl: str) -> checks.Report:
        with admin.transaction():
            admin.execute(ddl)
        return checks.run_checks(using=BROKEN_ALIAS)

    return break_with


V, W = "violation", "warning"

BROKEN_CASES = [
    pytest.param(
        "ALTER TABLE identity.sessions DROP COLUMN brand_id",
        {(V, 3, "identity", "sessions")},
        "identity.sessions has no brand_id column.",
        id="table-without-brand_id",
    ),
    pytest.param(
        "ALTER TABLE identity.sessions ALTER COLUMN brand_id DROP NOT NULL",
        {(V, 3, "identity", "sessions")},
        "ALTER TABLE identity.sessions ALTER COLUMN brand_id SET NOT NULL;",
        id="nullable-brand_id",
    ),
    pytest.param(
        "DROP TABLE payments.audit_log",
        {(V, 4, "payments", "audit_log")},
        "CREATE TABLE payments.audit_log (id uuid NOT NULL PRIMARY KEY, occurred_at timestamp with time zone NOT NULL,",
        id="missing-audit_log",
    ),
    pytest.param(
        "ALTER TABLE comms.audit_log ALTER COLUMN actor_id TYPE varchar(64)",
        {(V, 4, "comms", "audit_log")},
        "comms.audit_log column actor_id is character varying(64), the standard says text.",
        id="audit_log-column-type-changed",
    ),
    pytest.param(
        # The new column is not classified either: the back-office masks it until it is (rule 0).
        "ALTER TABLE comms.audit_log ADD COLUMN ip inet",
        {(V, 4, "comms", "audit_log"), (W, 0, "comms", "audit_log")},
        "comms.audit_log has a non-standard column ip.",
        id="audit_log-extra-column",
    ),
    pytest.param(
        # Dropping the column drops its index too: the audit explorer's index goes with it.
        "ALTER TABLE comms.audit_log DROP COLUMN request_id",
        {(V, 4, "comms", "audit_log"), (W, 4, "comms", "audit_log")},
        "comms.audit_log is missing the standard column request_id (text).",
        id="audit_log-missing-column",
    ),
    pytest.param(
        "ALTER TABLE comms.audit_log ALTER COLUMN actor_type DROP NOT NULL",
        {(V, 4, "comms", "audit_log")},
        "ALTER TABLE comms.audit_log ALTER COLUMN actor_type SET NOT NULL;",
        id="audit_log-nullability-changed",
    ),
    pytest.param(
        "ALTER TABLE comms.audit_log DROP CONSTRAINT audit_log_pkey",
        {(V, 4, "comms", "audit_log")},
        "comms.audit_log primary key is (none), the standard says (id).",
        id="audit_log-without-primary-key",
    ),
    pytest.param(
        "GRANT UPDATE ON cash.audit_log TO svc_cash",
        {(V, 4, "cash", "audit_log")},
        "REVOKE UPDATE ON cash.audit_log FROM svc_cash;",
        id="update-grant-on-audit_log",
    ),
    pytest.param(
        "GRANT UPDATE (details) ON cash.audit_log TO backoffice_ro",
        {(V, 4, "cash", "audit_log")},
        "REVOKE UPDATE (details) ON cash.audit_log FROM backoffice_ro;",
        id="column-update-grant-on-audit_log",
    ),
    pytest.param(
        # PUBLIC is every role, so this breaks rule 2 as well as rule 4.
        "GRANT DELETE, TRUNCATE ON cash.audit_log TO PUBLIC",
        {(V, 4, "cash", "audit_log"), (V, 2, "cash", "audit_log")},
        "REVOKE DELETE, TRUNCATE ON cash.audit_log FROM PUBLIC;",
        id="delete-grant-to-public-on-audit_log",
    ),
    pytest.param(
        "ALTER TABLE payments.charges ADD COLUMN identity_user_id UUID REFERENCES identity.users (id)",
        {(V, 5, "payments", "charges"), (W, 0, "payments", "charges")},
        "references identity.users",
        id="cross-schema-foreign-key",
    ),
    pytest.param(
        "GRANT USAGE ON SCHEMA payments TO svc_identity; GRANT SELECT ON payments.charges TO svc_identity",
        {(V, 2, "payments", None), (V, 2, "payments", "charges")},
        "svc_identity holds SELECT on payments.charges: only svc_payments may touch payments.",
        id="cross-schema-grant",
    ),
    pytest.param(
        "GRANT SELECT (amount_cents) ON payments.charges TO svc_identity",
        {(V, 2, "payments", "charges")},
        "REVOKE ALL (amount_cents) ON payments.charges FROM svc_identity;",
        id="cross-schema-column-grant",
    ),
    pytest.param(
        "CREATE VIEW identity.user_charges AS SELECT c.id, c.user_id FROM payments.charges c",
        {(V, 2, "identity", "user_charges")},
        "The view identity.user_charges reads payments.charges, another service's table.",
        id="view-reading-another-schema",
    ),
    pytest.param(
        "CREATE FUNCTION identity.charge_count() RETURNS bigint LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN (SELECT count(*) FROM payments.charges); END $$",
        {(V, 2, "identity", "charge_count()")},
        "mentions payments's tables (best-effort scan",
        id="function-reading-another-schema",
    ),
    pytest.param(
        "CREATE FUNCTION identity.charge_total() RETURNS numeric LANGUAGE sql "
        "BEGIN ATOMIC SELECT sum(amount_cents) FROM payments.charges; END",
        {(V, 2, "identity", "charge_total()")},
        "The function identity.charge_total() depends on payments's tables.",
        id="sql-function-depending-on-another-schema",
    ),
    pytest.param(
        "DROP TRIGGER transactions_no_delete ON accounting.transactions",
        {(V, 6, "accounting", "transactions")},
        "No enabled trigger rejects DELETE on accounting.transactions",
        id="ledger-without-delete-trigger",
    ),
    pytest.param(
        "ALTER TABLE accounting.transactions DISABLE TRIGGER transactions_no_delete",
        {(V, 6, "accounting", "transactions")},
        "ALTER TABLE accounting.transactions ENABLE TRIGGER transactions_no_delete;",
        id="ledger-delete-trigger-disabled",
    ),
    pytest.param(
        "DROP TRIGGER transactions_no_update ON accounting.transactions; "
        "CREATE TRIGGER transactions_no_update BEFORE UPDATE OF amount_cents ON accounting.transactions "
        "FOR EACH ROW EXECUTE FUNCTION accounting.reject_ledger_mutation()",
        {(V, 6, "accounting", "transactions")},
        "No enabled trigger rejects UPDATE on accounting.transactions",
        id="ledger-update-trigger-on-one-column-only",
    ),
    pytest.param(
        "CREATE SCHEMA marketing; CREATE TABLE marketing.leads (id UUID PRIMARY KEY, brand_id TEXT NOT NULL)",
        {(V, 1, "marketing", None)},
        "Schema marketing (owner postgres) is not a known service schema.",
        id="unknown-schema",
    ),
    pytest.param(
        "CREATE TABLE public.scratch (id INT)",
        {(V, 1, "public", "scratch")},
        "public.scratch belongs to no service",
        id="table-in-public",
    ),
    pytest.param(
        "DROP SCHEMA jobs CASCADE",
        {(V, 1, "jobs", None)},
        "The service schema jobs does not exist in the cluster.",
        id="known-schema-missing",
    ),
    pytest.param(
        # The new owner holds the owner's rights on jobs: another service's role (rule 2).
        "ALTER SCHEMA jobs OWNER TO svc_identity",
        {(V, 1, "jobs", None), (V, 2, "jobs", None)},
        "ALTER SCHEMA jobs OWNER TO svc_jobs;",
        id="schema-owned-by-another-role",
    ),
    pytest.param(
        "DROP INDEX webhooks.audit_log_brand_time_idx",
        {(W, 4, "webhooks", "audit_log")},
        "webhooks.audit_log has no index led by (brand_id, occurred_at)",
        id="missing-audit-index",
    ),
]


@pytest.mark.parametrize(("ddl", "expected", "text"), BROKEN_CASES)
def test_a_broken_rule_is_caught(broken_cluster, ddl, expected, text):
    report = broken_cluster(ddl)
    assert shape(report) == expected
    assert any(text in f.message or text in f.fix for f in report.findings), report.findings
    violations = any(severity == V for severity, *_ in expected)
    assert report.ok is not violations  # exit 1 exactly when a rule is broken, not for warnings
    for schema in {schema for _, _, schema, _ in expected}:
        [status] = [s for s in report.statuses() if s.schema == schema]
        assert status.status == ("violations" if violations else "warnings")


def test_an_unbroken_fresh_cluster_is_clean(broken_cluster):
    report = broken_cluster("SELECT 1")
    assert report.findings == []


def test_extension_objects_are_the_operators_not_findings(broken_cluster):
    # As pg_stat_statements puts views in public, or an extension creates its own schema.
    report = broken_cluster(
        "CREATE EXTENSION vector; "
        "CREATE TABLE public.ext_stats (id INT); ALTER EXTENSION vector ADD TABLE public.ext_stats; "
        "CREATE SCHEMA ext_owned; ALTER EXTENSION vector ADD SCHEMA ext_owned; "
        "CREATE FUNCTION identity.ext_helper() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM payments.charges'; "
        "ALTER EXTENSION vector ADD FUNCTION identity.ext_helper()"
    )
    assert report.findings == []


# --- the page -----------------------------------------------------------------------------------

URL = "/admin/conformance/"


def test_compliance_sees_every_schema_and_its_status(make_staff):
    client = make_staff("compliance")
    assert reverse("conformance:index") == URL
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for schema in SCHEMA_NAMES:
        assert f'<span class="conformance-name">{schema}</span>' in page
    assert page.count("conformance-badge--green") == len(SCHEMA_NAMES)
    assert "No drift: the models match the cluster." in page
    assert "Checked " in page
    assert "conformance/conformance.css" in page
    assert "style=" not in page.split("<body", 1)[1]  # the CSP forbids inline styles


def test_the_page_shows_findings_and_drift(make_staff, cluster_admin):
    cluster_admin.execute("ALTER TABLE jobs.job_runs ALTER COLUMN brand_id DROP NOT NULL")
    cluster_admin.execute("ALTER TABLE jobs.job_runs ADD COLUMN priority INTEGER")
    try:
        response = make_staff("superuser").get(URL)
    finally:
        cluster_admin.execute("ALTER TABLE jobs.job_runs DROP COLUMN priority")
        cluster_admin.execute("ALTER TABLE jobs.job_runs ALTER COLUMN brand_id SET NOT NULL")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("conformance-badge--green") == len(SCHEMA_NAMES) - 1
    assert "jobs.job_runs.brand_id is nullable." in page
    assert "ALTER TABLE jobs.job_runs ALTER COLUMN brand_id SET NOT NULL;" in page
    assert "jobs.job_runs.priority is new in the cluster" in page


def test_support_is_refused(make_staff):
    assert make_staff("support").get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
