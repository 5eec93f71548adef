"""Publishing scores through LTI 1.3 Assignment and Grade Services, with ``pylti1p3``.

The tool signs an RS256 JWT with its private key and trades it at the
platform's token URL for a bearer token (OAuth2 client credentials), then
POSTs one ``application/vnd.ims.lis.v1.score+json`` document per student to
``{lineitem}/scores``. No launch is needed: the line item URL, client id and
token URL are the ones the platform showed when the tool was registered, and
a student's ``userId`` is their LTI ``sub`` (``lti_sub`` in the accounts
file; Canvas also accepts its own user id).

Canvas refuses a score whose ``timestamp`` is older than the stored one, so
timestamps come from the clock but never go back past the ledger's last push.
A token refusal, or a 401/403/404/5xx on the first score, stops the upload
having recorded nothing.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from pathlib import Path

from autograder.errors import UploadError
from autograder.exporters import GradeRecord, StudentOutcome, UploadReport, require_https

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
FATAL_STATUSES = {401, 403, 404}


def _read_key(private_key: str) -> str:
    if not private_key:
        raise UploadError("no tool private key: pass --private-key PATH or set "
                          "LTI_PRIVATE_KEY to the PEM file registered with the platform")
    path = Path(private_key)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UploadError(f"cannot read the tool private key {path}: {exc}") from None
    if "PRIVATE KEY" not in text:
        raise UploadError(f"{path} is not a PEM private key")
    return text


def _public_pem(private_pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise UploadError(f"the tool private key cannot be loaded: {exc}") from None
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _service(*, issuer: str, client_id: str, token_url: str, lineitem: str, private_pem: str,
             key_id: str, audience: str):
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.registration import Registration
    from pylti1p3.service_connector import ServiceConnector

    class _Registration(Registration):
        def get_kid(self):  # the kid the platform knows the key by, when not the JWK thumbprint
            return key_id or super().get_kid()

    registration = (_Registration().set_issuer(issuer).set_client_id(client_id)
                    .set_auth_token_url(token_url).set_tool_private_key(private_pem)
                    .set_tool_public_key(_public_pem(private_pem)))
    if audience:
        registration.set_auth_audience(audience)
    connector = ServiceConnector(registration)
    return connector, AssignmentsGradesService(connector, {"scope": [SCORE_SCOPE],
                                                           "lineitem": lineitem})


def _timestamp(after: str | None) -> str:
    moment = _dt.datetime.now(_dt.timezone.utc)
    if after:
        previous = _dt.datetime.fromisoformat(after)
        if moment <= previous:
            moment = previous + _dt.timedelta(milliseconds=1)
    return moment.isoformat(timespec="milliseconds")


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def push(grades: Sequence[GradeRecord], *, dry_run: bool, ledger, issuer: str, client_id: str,
         token_url: str, lineitem: str, private_key: str, key_id: str = "",
         audience: str = "") -> UploadReport:
    """Publish ``grades`` to one LTI line item; see the module docstring."""
    from pylti1p3.grade import Grade

    for name, value in (("--client-id", client_id), ("--token-url", token_url),
                        ("--lineitem", lineitem), ("--issuer", issuer)):
        if not value:
            raise UploadError(f"LTI upload needs {name} (from the platform's tool registration)")
    require_https(token_url, "--token-url")
    require_https(lineitem, "--lineitem")
    private_pem = _read_key(private_key)
    connector, service = _service(issuer=issuer, client_id=client_id, token_url=token_url,
                       lineitem=lineitem, private_pem=private_pem, key_id=key_id,
                       audience=audience)
    target = f"lti {lineitem}"
    report = UploadReport(target=target, dry_run=dry_run)
    pending = []
    for record in grades:
        if record.score is None:
            report.outcomes.append(StudentOutcome(record.student, "skipped",
                                                  "no usable result in the gradebook"))
        elif ledger.unchanged(target, record):
            report.outcomes.append(StudentOutcome(record.student, "unchanged",
                                                  f"{record.score:g} already published"))
        elif dry_run:
            user = record.lms_ids.get("lti", record.student)
            report.outcomes.append(StudentOutcome(
                record.student, "would push", f"{record.score:g}/{record.max_score:g} as {user}"))
        else:
            pending.append(record)
    if not pending:
        return report
    try:
        connector.get_access_token([SCORE_SCOPE])
    except Exception as exc:  # noqa: BLE001 - a refused token is a configuration problem
        raise UploadError(f"the LTI platform refused the tool's token request at {token_url} "
                          f"({_describe(exc)}); check --client-id, --key-id and the public key "
                          "registered for the tool") from None
    for index, record in enumerate(pending):
        last = ledger.last(target, record.student)
        stamp = _timestamp(last.pushed_at if last else None)
        user = record.lms_ids.get("lti", record.student)
        grade = (Grade().set_score_given(round(record.score, 4))
                 .set_score_maximum(record.max_score).set_activity_progress("Completed")
                 .set_grading_progress("FullyGraded").set_user_id(user)
                 .set_timestamp(stamp).set_comment(record.summary))
        try:
            response = service.put_grade(grade)
        except Exception as exc:  # noqa: BLE001
            status = _status(exc)
            if index == 0 and (status in FATAL_STATUSES or status is None or status >= 500):
                raise UploadError(f"the LTI platform refused the first score at {lineitem}/scores "
                                  f"({_describe(exc)}); check --lineitem and the tool's "
                                  "score scope. Nothing was recorded.") from None
            report.outcomes.append(StudentOutcome(record.student, "failed", _describe(exc)))
            continue
        body = response.get("body") if isinstance(response, dict) else None
        result_url = body.get("resultUrl", "") if isinstance(body, dict) else ""
        ledger.record(target, record, pushed_at=stamp, response=result_url)
        report.outcomes.append(StudentOutcome(record.student, "pushed",
                                              f"{record.score:g}/{record.max_score:g} as {user}"))
    return report


def _describe(exc: Exception) -> str:
    status = _status(exc)
    if status is not None:
        text = (getattr(exc.response, "text", "") or "").strip().replace("\n", " ")
        return f"HTTP {status}{': ' + text[:200] if text else ''}"
    return f"{type(exc).__name__}: {exc}"


__all__ = ["SCORE_SCOPE", "push"]
