"""The permission matrix.

`check_matrix` is the reusable helper: one request per role, the expected status for
each, and exactly one audit event for every write that succeeds.

`ROUTES` is the matrix of every URL of the UI and the API: for each route, the request
and the status each role of tests/route_world.py must get. tests/test_route_matrix.py
fails when a URL pattern has no row here, so a new route cannot ship unreviewed."""

from dataclasses import dataclass, field

from django.urls import reverse

from governance.models import AuditEvent
from tests.conftest import client_for

LOGIN = "login"
# A permitted download: the bytes from local storage, a redirect to a presigned URL on S3.
DOWNLOAD = "download"


def check_matrix(
    users: dict, url: str, expected: dict, *, method="get", data=None, writes_on_success=0
):
    """`users` maps role name to a user (None is anonymous). `expected` maps the same
    names to a status code or LOGIN. Returns the responses by role."""
    responses = {}
    for role, status in expected.items():
        client = client_for(users[role])
        before = AuditEvent.objects.count()
        payload = data(role) if callable(data) else data
        response = getattr(client, method)(url, payload or {})
        written = AuditEvent.objects.count() - before
        if status == LOGIN:
            assert response.status_code == 302, (role, response.status_code)
            assert response["Location"].startswith(reverse("login")), (role, response["Location"])
        else:
            assert response.status_code == status, (role, status, response.status_code)
        if method == "post":
            expected_writes = writes_on_success if status in (200, 201, 302) else 0
            assert written == expected_writes, (role, "audit events", written)
        responses[role] = response
    return responses


# --- Every route ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One request of the matrix. `key` is the URL pattern's name (namespaced) or, for the
    unnamed API patterns, its route text. `url` and `data` take the World. `writes` is
    the number of audit events a successful request records (None: not a write)."""

    key: str
    method: str
    url: object
    expect: dict
    data: object = None
    writes: int | None = None
    api: bool = False
    json: bool = True
    label: str = ""
    tags: tuple = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return self.label or f"{self.method} {self.key}"


def roles(base: dict, **changes) -> dict:
    return {**base, **changes}


# The common shapes. A read the user may not see is 404; a write they may only read is 403.
SIGNED_IN = dict(
    anonymous=LOGIN, no_grant=200, auditor=200, scientist=200, manager=200, approver=200, admin=200
)
MODEL_READ = roles(SIGNED_IN, no_grant=404)
# Registry admins manage access registry-wide; changing a model is its team's work.
MODEL_CHANGE = roles(MODEL_READ, auditor=403, approver=403, admin=403)
MODEL_APPROVE = roles(MODEL_READ, auditor=403, scientist=403, manager=403, admin=403)
MODEL_MANAGE = roles(MODEL_CHANGE, scientist=403, admin=200)
ADMIN_ONLY = roles(SIGNED_IN, no_grant=403, auditor=403, scientist=403, manager=403, approver=403)
# Registry-wide pages of their own: the audit trail for auditors and admins; webhooks for
# those who manage a model, and admins.
AUDITORS_AND_ADMINS = roles(ADMIN_ONLY, auditor=200)
MANAGERS_AND_ADMINS = roles(ADMIN_ONLY, manager=200)

MODEL_DOWNLOAD = {r: (DOWNLOAD if s == 200 else s) for r, s in MODEL_READ.items()}
API_SIGNED_IN = {r: 200 for r in SIGNED_IN} | {"anonymous": 401}
API_READ = roles(API_SIGNED_IN, no_grant=404)
API_CHANGE = roles(API_READ, auditor=403, approver=403, admin=403)
# Tracking records are their creator's, visible to others only through the registered
# model a version was registered into from them (the matrix's run is in no model).
API_CREATOR = roles({r: 404 for r in API_SIGNED_IN}, anonymous=401, manager=200)
API_CREATOR_WRITE = roles(API_CREATOR, auditor=403)


def _m(w):
    return w.model.name


def _v(w):
    return (w.model.name, w.version.version)


def ui(name, *args_of_world, method="get", expect=MODEL_READ, data=None, writes=None, label=""):
    def url(w):
        args = [a(w) for a in args_of_world]
        flat = [x for a in args for x in (a if isinstance(a, tuple) else (a,))]
        return reverse(name, args=flat)

    return Route(name, method, url, expect, data=data, writes=writes, label=label)


def api(route, method, expect, data=None, writes=None, url=None, json=True, label=""):
    path = "/" + route if url is None else url
    return Route(
        route,
        method,
        path if callable(path) else (lambda w, p=path: p),
        expect,
        data=data,
        writes=writes,
        api=True,
        json=json,
        label=label,
    )


P = "api/2.0/mlflow/"
MV = {"name": "fraud-detector", "version": "1"}


def _token(w):
    return w.extra["manager_token"].pk


def _hook(w):
    return w.webhook.pk


def _req(w):
    return w.request.pk


def _risk(w):
    return w.risk_request.pk


REDIRECT_ALL = {r: 302 for r in SIGNED_IN}
OWN_TOKEN = roles(
    ADMIN_ONLY, no_grant=404, auditor=404, scientist=404, approver=404, manager=302, admin=302
)
# A webhook is seen by those who may manage its model, and admins.
WEBHOOK = roles(MODEL_MANAGE, auditor=404, scientist=404, approver=404)
WEBHOOK_WRITE = roles(WEBHOOK, manager=302, admin=302)
# A report is its requester's, and every auditor's and registry admin's.
REPORT = roles(MODEL_READ, scientist=404, approver=404)
# Only the requester withdraws; the requester and the model's approvers comment.
WITHDRAW = roles(MODEL_CHANGE, scientist=403, manager=302)
COMMENT = roles(MODEL_CHANGE, scientist=403, approver=302, manager=302)


def _post(data):
    return lambda w, role: data


def _review(w):
    return w.extra["access_review"].pk


def _review_item(w):
    return w.extra["access_review_item"].pk


def _svc(w):
    return w.extra["service_account"].pk


def _svc_token(w):
    return w.extra["service_token"].pk


def _new_service_account(w, role):
    return {"username": f"svc-new-{role}", "team": w.model.team_id, "description": "nightly"}


# A service account is its team's managers' and the registry admins'; others get 404 (the
# create form refuses a team they do not manage: 400, with their input kept).
SERVICE_ACCOUNT = roles(
    ADMIN_ONLY, no_grant=404, auditor=404, scientist=404, approver=404, manager=200
)
SERVICE_ACCOUNT_WRITE = roles(SERVICE_ACCOUNT, manager=302, admin=302)
SERVICE_ACCOUNT_CREATE = roles(
    SERVICE_ACCOUNT_WRITE, no_grant=400, auditor=400, scientist=400, approver=400
)
REVIEW_OPEN = roles(ADMIN_ONLY, admin=400)
# The scientist's change grant: decided by the model's manager and registry admins.
REVIEW_DECIDE = roles(SERVICE_ACCOUNT_WRITE)


def _sys(w):
    return w.extra["ai_system"].pk


def _system_form(w, role):
    return {
        "name": "fraud-screening",
        "intended_purpose": f"Edited by {role}",
        "operator_role": "provider",
        "provider_name": "Attest Bank SA",
        "provider_address": "1 Rue du Test, Luxembourg",
        "annex_iii_category": "none",
        "market_status": "in_development",
        "registered_models": [w.model.pk],
    }


def _classify_form(w, role):
    from aisystems.questionnaire import YES_NO_QUESTIONS

    return {q.key: "no" for q in YES_NO_QUESTIONS} | {"annex_iii": "none"}


REGISTER_KINDS = ("risks", "incidents", "monitoring", "datasets", "fria", "conformity")


def _entry(kind):
    return lambda w: w.extra[f"register_{kind}"].pk


# Registering an AI system is for data scientists (as registering a model is).
SYSTEM_CREATE = roles(SIGNED_IN, auditor=403, approver=403, admin=403)


# fmt: off
ROUTES = [
    # --- Accounts and tokens
    ui("governance:home", expect=SIGNED_IN),
    ui("login", expect=roles(REDIRECT_ALL, anonymous=200)),
    ui("logout", method="post", expect={r: LOGIN for r in SIGNED_IN}),
    # Single sign-on is off in the matrix's world (no OIDC_ISSUER): both answer 404 to all;
    # tests/identity covers them against a real provider.
    ui("oidc_authentication_init", expect={r: 404 for r in SIGNED_IN}),
    ui("oidc_authentication_callback", expect={r: 404 for r in SIGNED_IN}),
    # Two-factor: everyone signed in manages their own (tests/identity/test_two_factor.py).
    ui("two-factor", expect=SIGNED_IN),
    ui("two-factor-enrol", expect=SIGNED_IN),
    ui("two-factor-verify", expect=SIGNED_IN),
    # Nobody in the matrix's world is verified with a device: both send to verification.
    ui("two-factor-recovery-renew", method="post", expect=roles(REDIRECT_ALL, anonymous=LOGIN)),
    ui("two-factor-remove", method="post", expect=roles(REDIRECT_ALL, anonymous=LOGIN)),
    ui("password_change", expect=SIGNED_IN),
    ui("password_change_done", expect=SIGNED_IN),
    ui("governance:token-list", expect=SIGNED_IN),
    ui("governance:token-list", method="post", data=_post({"name": "ci", "scope": "read"}),
       writes=1, expect=SIGNED_IN, label="POST token-list (create)"),
    ui("governance:token-list-all", expect=ADMIN_ONLY),
    ui("governance:token-revoke", _token, method="post", expect=OWN_TOKEN, writes=1),
    # --- Access reviews (issue 20): everyone sees the list and a review, filtered to what
    # they could revoke; the world's review is open, so opening another is refused (400).
    ui("governance:access-review-list", expect=SIGNED_IN),
    ui("governance:access-review-list", method="post", expect=REVIEW_OPEN, writes=1,
       label="POST access-review-list (open)"),
    ui("governance:access-review-detail", _review, expect=SIGNED_IN),
    ui("governance:access-review-item-decide", _review, _review_item, method="post",
       data=_post({"decision": "confirm"}), expect=REVIEW_DECIDE, writes=1),
    # Items are pending: closing is refused (400) for admins, 403 for everyone else.
    ui("governance:access-review-close", _review, method="post", expect=REVIEW_OPEN, writes=1),
    # --- Service accounts: their team's managers and registry admins (issue 20)
    ui("governance:service-account-list", expect=SIGNED_IN),
    ui("governance:service-account-list", method="post", data=_new_service_account,
       writes=1, expect=SERVICE_ACCOUNT_CREATE, label="POST service-account-list (create)"),
    ui("governance:service-account-detail", _svc, expect=SERVICE_ACCOUNT),
    ui("governance:service-account-detail", _svc, method="post",
       data=_post({"name": "ci", "scope": "read"}), writes=1, expect=SERVICE_ACCOUNT,
       label="POST service-account-detail (mint a token)"),
    ui("governance:service-account-token-revoke", _svc, _svc_token, method="post",
       expect=SERVICE_ACCOUNT_WRITE, writes=1),
    ui("governance:service-account-deactivate", _svc, method="post",
       expect=SERVICE_ACCOUNT_WRITE, writes=1),
    # --- Webhooks
    ui("governance:webhook-list", expect=MANAGERS_AND_ADMINS),
    ui("governance:webhook-detail", _hook, expect=WEBHOOK),
    ui("governance:webhook-test", _hook, method="post", expect=WEBHOOK_WRITE, writes=1),
    ui("governance:webhook-remove", _hook, method="post", expect=WEBHOOK_WRITE, writes=1),
    # --- Models and versions
    ui("registry:model-list", expect=SIGNED_IN),
    ui("registry:model-create", expect=roles(SIGNED_IN, auditor=403, approver=403, admin=403)),
    ui("registry:model-detail", _m),
    ui("registry:model-edit", _m, expect=MODEL_CHANGE),
    ui("registry:model-edit", _m, method="post", writes=1,
       data=lambda w, role: {"description": f"edited by {role}", "tags": ""},
       expect=roles(MODEL_CHANGE, scientist=302, manager=302), label="POST registry:model-edit"),
    ui("registry:version-create", _m, expect=MODEL_CHANGE),
    ui("registry:version-detail", _v),
    ui("registry:artifact-panel", _v),
    ui("registry:artifact-download", _v, lambda w: w.artifact.pk, expect=MODEL_DOWNLOAD),
    ui("registry:job-status", lambda w: w.job.pk),
    ui("registry:card-detail", _v),
    ui("registry:card-edit", _v, expect=MODEL_CHANGE),
    ui("registry:card-preview", _v, method="post", expect=MODEL_CHANGE),
    ui("registry:card-revisions", _v),
    ui("registry:card-import", _v, expect=MODEL_CHANGE),
    ui("registry:card-export-readme", _v),
    ui("registry:card-export-html", _v),
    ui("registry:card-export-pdf", _v),
    ui("registry:compare", _m),
    ui("registry:compare-csv", _m, data=lambda w, role: {"v": [w.version.version]}),
    # --- Governance
    ui("governance:queue", expect=SIGNED_IN),
    # 286 tells htmx to stop polling: nobody signed in, or someone who never decides.
    ui("governance:queue-count", expect=roles(SIGNED_IN, anonymous=286, auditor=286)),
    ui("governance:request-detail", _req),
    ui("governance:request-decide", _req, method="post", writes=1,
       data=_post({"outcome": "approve", "reason": "Looks right"}),
       expect=roles(MODEL_APPROVE, approver=302)),
    ui("governance:request-withdraw", _req, method="post", data=_post({"reason": "Not yet"}),
       expect=WITHDRAW, writes=1),
    ui("governance:request-comment", _req, method="post", data=_post({"body": "A question"}),
       expect=COMMENT, writes=1),
    ui("governance:request-open", _v, expect=MODEL_CHANGE),
    ui("governance:version-archive", _v, expect=MODEL_CHANGE),
    ui("governance:compliance-upload", _v, expect=MODEL_CHANGE),
    ui("governance:compliance-download", _v, lambda w: w.document.pk, expect=MODEL_DOWNLOAD),
    ui("governance:model-aliases", _m),
    ui("governance:model-aliases", _m, method="post", writes=1,
       data=_post({"alias": "candidate", "version": "1"}),
       expect=roles(MODEL_CHANGE, scientist=302, manager=302),
       label="POST governance:model-aliases"),
    ui("governance:model-alias-delete", _m, method="post", data=_post({"alias": "challenger"}),
       expect=roles(MODEL_CHANGE, scientist=302, manager=302), writes=1),
    ui("governance:model-risk-class", _m, expect=MODEL_CHANGE),
    # A risk-class change is decided by Compliance, or registry admins while no Compliance
    # member can (the world has none); never by the requester (the manager).
    ui("governance:risk-request-detail", _risk),
    ui("governance:risk-request-decide", _risk, method="post", writes=1,
       data=_post({"outcome": "approve", "reason": "Reviewed"}),
       expect=roles(MODEL_APPROVE, approver=403, admin=302)),
    ui("governance:risk-request-withdraw", _risk, method="post", data=_post({"reason": "No"}),
       expect=WITHDRAW, writes=1),
    ui("governance:model-rollback", _m, expect=MODEL_APPROVE),
    ui("governance:model-access", _m, expect=MODEL_MANAGE),
    ui("governance:model-access", _m, method="post", writes=1,
       data=_post({"user": "olga", "permission": "view"}),
       expect=roles(MODEL_MANAGE, manager=302, admin=302),
       label="POST governance:model-access (grant view)"),
    ui("governance:model-access-revoke", _m, method="post", writes=1,
       data=lambda w, role: {"subject": f"user:{w.users['scientist'].pk}", "permission": "change"},
       expect=roles(MODEL_MANAGE, manager=302, admin=302)),
    ui("governance:audit-log", expect=AUDITORS_AND_ADMINS),
    ui("governance:audit-export", lambda w: "csv", expect=AUDITORS_AND_ADMINS),
    # The proof of one's own latest export: nobody in the world has exported yet.
    ui("governance:audit-export-proof", expect=roles(AUDITORS_AND_ADMINS, auditor=404, admin=404)),
    ui("governance:model-history", _m),
    ui("governance:report-list", expect=SIGNED_IN),
    ui("governance:report-create", expect=SIGNED_IN),
    ui("governance:report-detail", lambda w: w.report.pk, expect=REPORT),
    ui("governance:report-download", lambda w: w.report.pk,
       expect=roles(REPORT, auditor=302, manager=302, admin=302)),
    # --- AI systems: seen through any member model, changed with change on every one
    ui("aisystems:system-list", expect=SIGNED_IN),
    ui("aisystems:system-create", expect=SYSTEM_CREATE),
    ui("aisystems:system-create", method="post", writes=1,
       data=lambda w, role: _system_form(w, role) | {"name": f"new-{role}",
                                                       "registered_models": []},
       expect=roles(SYSTEM_CREATE, no_grant=302, scientist=302, manager=302),
       label="POST aisystems:system-create"),
    ui("aisystems:system-detail", _sys),
    ui("aisystems:system-edit", _sys, expect=MODEL_CHANGE),
    ui("aisystems:system-edit", _sys, method="post", data=_system_form, writes=1,
       expect=roles(MODEL_CHANGE, scientist=302, manager=302), label="POST aisystems:system-edit"),
    ui("aisystems:system-classify", _sys, expect=MODEL_CHANGE),
    ui("aisystems:system-classify", _sys, method="post", data=_classify_form, writes=1,
       expect=roles(MODEL_CHANGE, scientist=302, manager=302),
       label="POST aisystems:system-classify"),
    ui("aisystems:system-risk-class", _sys, expect=MODEL_CHANGE),
    ui("aisystems:system-techdoc", _sys),
    ui("aisystems:system-instructions", _sys),
    ui("aisystems:conformity-declaration", _sys, _entry("conformity")),
    Route("aisystems:api-system-techdoc", "get",
          lambda w: reverse("aisystems:api-system-techdoc", args=[_sys(w)]), API_READ, api=True),
    # The world's model has a risk-class request pending: the change is refused, not taken.
    ui("aisystems:system-risk-class", _sys, method="post", writes=0,
       data=_post({"risk_class": "limited", "rationale": "Chats with customers"}),
       expect=roles(MODEL_CHANGE, scientist=400, manager=400),
       label="POST aisystems:system-risk-class (a model's request pends)"),
    Route("aisystems:api-system-list", "get", lambda w: reverse("aisystems:api-system-list"),
          API_SIGNED_IN, api=True),
    Route("aisystems:api-system-detail", "get",
          lambda w: reverse("aisystems:api-system-detail", args=[_sys(w)]), API_READ, api=True),
    # --- Controls and readiness: the library for everyone signed in; a system's readiness
    # read with the system, its evidence and trend written with change on it; validations
    # and findings by the model's approvers.
    ui("controls:framework-list", expect=SIGNED_IN),
    ui("controls:framework", lambda w: "nist-ai-rmf", expect=SIGNED_IN),
    ui("controls:system-readiness", _sys),
    ui("controls:system-framework", _sys, lambda w: "eu-ai-act"),
    ui("controls:system-export", _sys, lambda w: "eu-ai-act", lambda w: "csv"),
    ui("controls:snapshot-create", _sys, lambda w: "eu-ai-act", method="post", writes=1,
       expect=roles(MODEL_CHANGE, scientist=302, manager=302)),
    ui("controls:evidence-create", _sys, expect=MODEL_CHANGE),
    ui("controls:evidence-create", _sys, method="post", writes=1,
       data=lambda w, role: {"kind": "document", "control": w.extra["control"].pk,
                             "title": f"Policy by {role}", "review_on": "2030-01-01"},
       expect=roles(MODEL_CHANGE, scientist=302, manager=302),
       label="POST controls:evidence-create"),
    ui("controls:evidence-detail", _sys, lambda w: w.extra["evidence"].pk),
    ui("controls:not-applicable", _sys, method="post", writes=1,
       data=lambda w, role: {"control": w.extra["control"].pk, "reason": f"{role} says so"},
       expect=roles(MODEL_CHANGE, scientist=302, manager=302)),
    ui("controls:model-risk", _m),
    ui("controls:model-risk", _m, method="post", writes=1,
       data=_post({"validate": "1", "validated_on": "2026-01-05", "summary": "Sound"}),
       expect=roles(MODEL_APPROVE, approver=302), label="POST controls:model-risk (validation)"),
    # --- The registers of an AI system: read with the system, written with change on it
    *[ui("aisystems:register-list", _sys, lambda w, k=kind: k, label=f"GET register-list {kind}")
      for kind in REGISTER_KINDS],
    *[ui("aisystems:register-detail", _sys, lambda w, k=kind: k, _entry(kind),
         label=f"GET register-detail {kind}") for kind in REGISTER_KINDS],
    *[ui("aisystems:register-create", _sys, lambda w, k=kind: k, expect=MODEL_CHANGE,
         label=f"GET register-create {kind}") for kind in REGISTER_KINDS],
    ui("aisystems:register-create", _sys, lambda w: "risks", method="post", writes=1,
       data=_post({"title": "Drift", "hazard": "Scores drift", "likelihood": "2",
                   "severity": "3", "status": "open", "review_on": "2030-01-01"}),
       expect=roles(MODEL_CHANGE, scientist=302, manager=302),
       label="POST aisystems:register-create risks"),
    *[ui("aisystems:register-edit", _sys, lambda w, k=kind: k, _entry(kind),
         expect=MODEL_CHANGE, label=f"GET register-edit {kind}") for kind in REGISTER_KINDS],
    ui("aisystems:register-edit", _sys, lambda w: "datasets", _entry("datasets"),
       method="post", writes=1,
       data=_post({"title": "Payments 2025", "provenance": "Core banking",
                   "collection": "Exports", "known_gaps": "No cash payments"}),
       expect=roles(MODEL_CHANGE, scientist=302, manager=302),
       label="POST aisystems:register-edit datasets"),
    # A report is approved by an approver of every model, never by who recorded it.
    ui("aisystems:incident-approve", _sys, _entry("incidents"), method="post", writes=1,
       expect=roles(MODEL_APPROVE, approver=302)),
    ui("aisystems:observation-create", _sys, _entry("monitoring"), method="post", writes=1,
       data=_post({"value": "0.95"}), expect=roles(MODEL_CHANGE, scientist=302, manager=302)),
    *[Route("aisystems:api-register-list", "get",
            lambda w, k=kind: reverse("aisystems:api-register-list", args=[_sys(w), k]),
            API_READ, api=True, label=f"GET api-register-list {kind}")
      for kind in REGISTER_KINDS],
    Route("aisystems:api-observation-create", "post",
          lambda w: reverse("aisystems:api-observation-create", args=[_sys(w)]),
          API_CHANGE, data={"metric": "precision", "value": 0.95}, writes=1, api=True),
    ui("healthz", expect={r: 200 for r in SIGNED_IN}),
    ui("governance:signing-keys", expect={r: 200 for r in SIGNED_IN}),
]
# fmt: on


def _run(w, role):
    return {"run_id": w.run_id}


def _exp(w, role):
    return {"experiment_id": w.experiment_id}


def _logged(suffix=""):
    return lambda w: f"/{P}logged-models/{w.logged_model_id}{suffix}"


API_DOWNLOAD = {r: (DOWNLOAD if s == 200 else s) for r, s in API_READ.items()}
# The source run is the manager's, so others cannot register a version from it.
VERSION_FROM_RUN = roles(API_CHANGE, scientist=404, approver=404, admin=404)
# A stage moves only through an approved request: the API opens one and answers 403.
GOVERNED_STAGE = roles(API_CHANGE, scientist=403, manager=403)

# fmt: off
ROUTES += [
    # --- The MLflow-compatible API: the model registry
    api(P + "registered-models/create", "post",
        roles(API_SIGNED_IN, auditor=403, approver=403, admin=403),
        data=lambda w, role: {"name": f"new-{role}"}, writes=1),
    api(P + "registered-models/get", "get", API_READ, data={"name": "fraud-detector"}),
    api(P + "registered-models/rename", "post", roles(API_CHANGE, scientist=403, admin=200),
        data={"name": "fraud-detector", "new_name": "fraud-detector-2"}, writes=1),
    api(P + "registered-models/update", "patch", API_CHANGE,
        data={"name": "fraud-detector", "description": "x"}, writes=1),
    api(P + "registered-models/delete", "delete", roles(API_CHANGE, scientist=403, admin=200),
        data={"name": "fraud-detector"}),
    api(P + "registered-models/search", "get", API_SIGNED_IN),
    api(P + "registered-models/list", "get", API_SIGNED_IN),
    api(P + "registered-models/get-latest-versions", "get", API_READ,
        data={"name": "fraud-detector"}),
    api(P + "registered-models/set-tag", "post", API_CHANGE,
        data={"name": "fraud-detector", "key": "k", "value": "v"}, writes=1),
    api(P + "registered-models/delete-tag", "delete", API_CHANGE,
        data={"name": "fraud-detector", "key": "owner"}, writes=1),
    api(P + "registered-models/alias", "post", API_CHANGE,
        data={"name": "fraud-detector", "alias": "candidate", "version": "1"}, writes=1),
    api(P + "registered-models/alias", "get", API_READ,
        data={"name": "fraud-detector", "alias": "challenger"}),
    api(P + "registered-models/alias", "delete", API_CHANGE,
        data={"name": "fraud-detector", "alias": "challenger"}, writes=1),
    api(P + "model-versions/create", "post", VERSION_FROM_RUN,
        data=lambda w, role: {"name": "fraud-detector", "source": f"runs:/{w.run_id}/model",
                              "run_id": w.run_id}),
    api(P + "model-versions/get", "get", API_READ, data=MV),
    api(P + "model-versions/update", "patch", API_CHANGE, data=MV | {"description": "x"},
        writes=1),
    api(P + "model-versions/delete", "delete", roles(API_CHANGE, scientist=403, admin=200),
        data=MV, writes=1),
    api(P + "model-versions/search", "get", API_SIGNED_IN),
    api(P + "model-versions/get-download-uri", "get", API_READ, data=MV),
    api(P + "model-versions/transition-stage", "post", GOVERNED_STAGE,
        data=MV | {"stage": "Staging", "archive_existing_versions": "false"}),
    api(P + "model-versions/set-tag", "post", API_CHANGE, data=MV | {"key": "k", "value": "v"},
        writes=1),
    api(P + "model-versions/delete-tag", "delete", roles(API_CHANGE, scientist=400, manager=400),
        data=MV | {"key": "no-such-tag"}),
    # --- The MLflow-compatible API: tracking (the manager's own experiment and run)
    api(P + "experiments/get", "get", API_CREATOR, data=_exp),
    api(P + "experiments/get-by-name", "get", API_CREATOR,
        data={"experiment_name": "matrix-exp"}),
    api(P + "experiments/create", "post", roles(API_SIGNED_IN, auditor=403),
        data=lambda w, role: {"name": f"exp-{role}"}, writes=1),
    api(P + "experiments/search", "post", API_SIGNED_IN, data={"max_results": 10}),
    api(P + "runs/create", "post", API_CREATOR_WRITE, data=_exp),
    api(P + "runs/get", "get", API_CREATOR, data=_run),
    api(P + "runs/update", "post", API_CREATOR_WRITE,
        data=lambda w, role: _run(w, role) | {"status": "FINISHED"}, writes=1),
    api(P + "runs/log-parameter", "post", API_CREATOR_WRITE,
        data=lambda w, role: _run(w, role) | {"key": "p", "value": "1"}, writes=1),
    api(P + "runs/log-metric", "post", API_CREATOR_WRITE,
        data=lambda w, role: _run(w, role) | {"key": "m", "value": 1, "timestamp": 1}, writes=1),
    api(P + "runs/set-tag", "post", API_CREATOR_WRITE,
        data=lambda w, role: _run(w, role) | {"key": "t", "value": "v"}, writes=1),
    api(P + "runs/log-batch", "post", API_CREATOR_WRITE,
        data=lambda w, role: _run(w, role) | {"params": [{"key": "b", "value": "1"}]}, writes=1),
    api(P + "runs/outputs", "post", API_CREATOR_WRITE,
        data=lambda w, role: _run(w, role) | {"models": [{"model_id": w.logged_model_id}]},
        writes=1),
    api(P + "runs/log-inputs", "post", API_CREATOR_WRITE,
        data=lambda w, role: _run(w, role) | {"datasets": []}),
    api(P + "metrics/get-history", "get", API_CREATOR,
        data=lambda w, role: _run(w, role) | {"metric_key": "auc"}),
    api(P + "logged-models", "post", API_CREATOR_WRITE,
        data=lambda w, role: _exp(w, role) | {"name": "n"}),
    api(P + "logged-models/search", "post", API_SIGNED_IN,
        data=lambda w, role: {"experiment_ids": [w.experiment_id]}),
    api(P + "logged-models/<str:model_id>", "get", API_CREATOR, url=_logged()),
    api(P + "logged-models/<str:model_id>", "patch", API_CREATOR_WRITE, url=_logged(),
        data={"status": "LOGGED_MODEL_READY"}, writes=1),
    api(P + "logged-models/<str:model_id>/tags", "patch", API_CREATOR_WRITE,
        url=_logged("/tags"), data={"tags": [{"key": "k", "value": "v"}]}, writes=1),
    api("api/3.0/mlflow/server-info", "get", API_SIGNED_IN),
    # Any other path under /api/ is MLflow's JSON 404, for everyone.
    api("^api/", "get", {r: 404 for r in SIGNED_IN}, url=lambda w: "/api/2.0/mlflow/no-such"),
    api("api/2.0/mlflow-artifacts/artifacts", "get", API_READ,
        data=lambda w, role: {"path": f"versions/{w.version.pk}"}),
    api(r"^api/2\.0/mlflow-artifacts/artifacts/(?P<path>.+)$", "get", API_DOWNLOAD,
        url=lambda w: f"/api/2.0/mlflow-artifacts/artifacts/versions/{w.version.pk}/"
        f"{w.artifact.path}"),
    api(r"^api/2\.0/mlflow-artifacts/artifacts/(?P<path>.+)$", "put", API_CREATOR_WRITE,
        url=lambda w: f"/api/2.0/mlflow-artifacts/artifacts/{w.experiment_id}/{w.run_id}"
        "/artifacts/model/MLmodel", data=b"flavors: {}\n", json=False, writes=1),
]
# fmt: on

# Admin pages: every pattern under admin/ is the Django admin's, guarded in one place
# (governance/admin_site.py); the matrix requests its index and each registered model's
# list, and tests/test_route_matrix.py checks each list against the same expectation.
ADMIN = roles(ADMIN_ONLY)
