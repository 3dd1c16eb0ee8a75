"""The access report over HTTP, after a scripted session: exactly those accesses, in order, in the
page, the CSV and the PDF; only compliance and superusers may build it."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils import timezone

from apps.auditlog.models import MANY_SUBJECTS, AuditEvent
from apps.customers import accesses
from apps.explorer.query import AuditQuery
from apps.refcluster import generator
from apps.services.models import ActionRequest

pytestmark = pytest.mark.django_db(databases="__all__")


def confirm(client, url, **data):
    page = client.get(url)
    assert page.status_code == 200, page.content[:300]
    key = re.search(r'name="idempotency_key" value="([0-9a-f-]+)"', page.content.decode()).group(1)
    return client.post(url, {"idempotency_key": key, **data})


@pytest.fixture
def patient(cluster_admin):
    """A seeded customer of capri with a biomarker and a succeeded charge nobody else's test uses."""
    with_biomarkers = [
        r[0]
        for r in cluster_admin.execute(
            "SELECT DISTINCT user_id FROM clinical.biomarkers WHERE brand_id = 'capri' ORDER BY user_id DESC LIMIT 40"
        )
    ]
    known = {str(generator.user_id(i)) for i in generator.KNOWN_USERS}
    for user_id in with_biomarkers:
        if user_id in known:
            continue
        charge = cluster_admin.execute(
            "SELECT id FROM payments.charges WHERE user_id = %s AND status = 'succeeded' AND amount_cents > 1000 "
            "ORDER BY id LIMIT 1",
            [user_id],
        ).fetchone()
        if charge:
            biomarker = cluster_admin.execute(
                "SELECT id FROM clinical.biomarkers WHERE user_id = %s ORDER BY id LIMIT 1", [user_id]
            ).fetchone()
            return {"user_id": user_id, "charge": str(charge[0]), "biomarker": str(biomarker[0])}
    pytest.fail("no seeded customer with a biomarker and a charge")


def test_access_report_lists_exactly_the_scripted_session_in_order(standin, make_staff, patient, settings):
    settings.FOUR_EYES_REFUND_CENTS = 100  # the refund below waits for a second person
    started = timezone.now()
    user_id = patient["user_id"]
    support = make_staff("support", username="sam-support")
    officer = make_staff("compliance", username="olga-compliance")

    # 1. Support opens the customer page.
    assert support.get(reverse("customers:detail", args=[user_id])).status_code == 200
    # 2. Compliance opens a biomarker and reveals it with a reason.
    biomarker_page = reverse("admin:clinical_biomarker_change", args=[patient["biomarker"]])
    assert officer.get(biomarker_page).status_code == 200
    reason = "Patient asked for their lab value; ticket GDPR-77"
    reveal = officer.post(
        reverse("admin:clinical_biomarker_reveal", args=[patient["biomarker"]]), {"reason": reason}
    )
    assert reveal.status_code == 302
    # 3. Compliance exports the audit rows about them.
    export = officer.get(reverse("explorer:export_csv"), {"entity_id": user_id})
    assert export.status_code == 200
    b"".join(export.streaming_content)
    # 4. A refund is requested by support and approved (and sent) by compliance, via the stand-in.
    act = reverse("admin:payments_charge_act", args=[quote(patient["charge"]), "refund_charge"])
    assert confirm(support, act, amount="2.00", reason="Damaged parcel, ticket 4411").status_code == 302
    pending = ActionRequest.objects.get(object_pk=patient["charge"], status="pending_approval")
    officer.post(reverse("admin:services_actionrequest_decide", args=[pending.pk]), {"decision": "approve"})
    pending.refresh_from_db()
    assert pending.status == "succeeded"

    expected = [
        ("back-office", "phi.viewed", "sam-support"),  # the customer page, with PHI panels (masked)
        ("back-office", "phi.viewed", "olga-compliance"),  # the biomarker, masked
        ("back-office", "phi.revealed", "olga-compliance"),
        ("back-office", "export.audit", "olga-compliance"),
        ("back-office", "service.action_requested", "sam-support"),
        ("back-office", "service.action_approved", "olga-compliance"),
        ("back-office", "service.action_sent", "olga-compliance"),
        ("platform", "refund.created", "olga-compliance"),  # the payments service, acting for staff
        ("back-office", "service.action_succeeded", "olga-compliance"),
    ]
    period = {"since": started.isoformat()}
    report_url = reverse("customers:accesses", args=[user_id])
    page = officer.get(report_url, period)
    assert page.status_code == 200
    shown = [(a.part, a.event_type, a.actor) for a in page.context["report"].accesses]
    assert shown == expected
    html = page.content.decode()
    assert html.count('class="access access-') == len(expected)
    assert reason in html and "Damaged parcel, ticket 4411" in html
    order = [m.group(1) for m in re.finditer(r'data-event="([^"]+)"', html)]
    assert order == [event for _, event, _ in expected]

    rows = list(
        csv.DictReader(
            io.StringIO(
                officer.get(reverse("customers:accesses_csv", args=[user_id]), period).content.decode()
            )
        )
    )
    assert [(r["part"], r["event"], r["by"]) for r in rows] == expected
    assert rows[2]["reason"] == reason and rows[2]["record"] == f"clinical.Biomarker {patient['biomarker']}"
    assert rows[4]["role"] == "support" and rows[5]["role"] == "compliance"

    pdf = officer.get(reverse("customers:accesses_pdf", args=[user_id]), period)
    assert pdf["Content-Type"] == "application/pdf"
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    found = [
        m.group(1) for m in re.finditer(r"^(?:back-office|platform|disclosure), \w+: (\S+)$", text, re.M)
    ]
    assert found == [event for _, event, _ in expected]
    assert reason in text and "olga-compliance (compliance)" in text and user_id in text

    # Building each of them was logged, about the person, and none of them is listed as an access.
    built = AuditEvent.objects.filter(event_type="report.access_built", subject_id=user_id)
    assert sorted(built.values_list("details__format", flat=True)) == ["csv", "html", "pdf"]


def test_support_and_brand_managers_cannot_open_it(make_staff, patient):
    url = reverse("customers:accesses", args=[patient["user_id"]])
    assert make_staff("support").get(url).status_code == 403
    assert make_staff("brand_manager", brands=("capri",)).get(url).status_code == 403
    assert (
        make_staff("brand_manager", brands=("capri",), username="bm2").get(url + "report.csv").status_code
        == 403
    )
    compliance = make_staff("compliance")
    assert compliance.get(url).status_code == 200
    assert url in compliance.get(reverse("customers:detail", args=[patient["user_id"]])).content.decode()
    assert (
        url
        not in make_staff("support", username="s2")
        .get(reverse("customers:detail", args=[patient["user_id"]]))
        .content.decode()
    )
    assert compliance.get(url, {"since": "yesterday"}).status_code == 400
    assert compliance.get(reverse("customers:accesses", args=[str(uuid.uuid4())])).status_code == 404


def test_an_export_about_too_many_people_is_found_by_its_filter(make_staff, patient):
    officer = make_staff("compliance")
    user_id = patient["user_id"]
    query = AuditQuery(services=("identity",))  # their logins are there
    # As the export view logs an export past the bound: the filter instead of the subjects.
    from apps.auditlog.services import record_event

    record_event(event_type="export.audit", actor=officer.user, entity_type="audit_log", subjects=[MANY_SUBJECTS],
                 details={"format": "csv", "filters": query.as_params(), "rows": 5000})  # fmt: skip
    record_event(event_type="export.audit", actor=officer.user, entity_type="audit_log", subjects=[MANY_SUBJECTS],
                 details={"format": "csv", "filters": {"service": ["jobs"]}, "rows": 10})  # fmt: skip
    report = accesses.build(
        customer_record=_customer(user_id),
        staff=officer.user,
        since=timezone.now() - timezone.timedelta(minutes=5),
    )
    exports = [a for a in report.accesses if a.event_type == "export.audit"]
    assert len(exports) == 1 and "re-evaluated" in exports[0].note


def test_the_heaviest_customer_has_platform_accesses_and_disclosures(make_staff):
    heavy = str(generator.user_id(generator.HEAVY_USER_INDEX))
    report = accesses.build(customer_record=_customer(heavy), staff=make_staff("superuser").user)
    parts = {a.part for a in report.accesses}
    assert {"platform", "disclosure"} <= parts
    staff_rows = [a for a in report.accesses if a.part == "platform" and a.role != "service"]
    assert staff_rows and all(a.actor.startswith("staff:") for a in staff_rows)
    assert report.accesses == sorted(report.accesses, key=lambda a: (a.at, a.order))


def _customer(user_id):
    from apps.identity.models import User

    return User.objects.get(pk=user_id)


@pytest.mark.parametrize("role", ["superuser", "compliance"])
def test_the_report_reads_sources_concurrently_with_the_same_result(make_staff, monkeypatch, role):
    heavy = _customer(str(generator.user_id(generator.HEAVY_USER_INDEX)))
    staff = make_staff(role).user
    monkeypatch.setattr(accesses, "WORKERS", 1)
    one_by_one = accesses.build(customer_record=heavy, staff=staff)
    monkeypatch.setattr(accesses, "WORKERS", 4)
    concurrent = accesses.build(customer_record=heavy, staff=staff)
    assert concurrent.accesses and concurrent.accesses == one_by_one.accesses
    assert concurrent.notes == one_by_one.notes
