"""Hooks that keep the audit trail complete outside services: sign-ins and workers."""

from axes.signals import user_locked_out
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from governance import audit, request_context, sessions, signin, signin_gate

_TASK_CONTEXTS = {}


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    with transaction.atomic():
        audit.record(actor=user, action="auth.login", target=user)
    if request is not None and hasattr(request, "session"):
        sessions.session_started(request)
    # This event took the chain lock anyway: a good moment to fold waiting failures.
    signin.failed_signins_fold_if_due()


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        reason = getattr(request, "attest_logout_reason", "") if request is not None else ""
        with transaction.atomic():
            audit.record(
                actor=user,
                action="auth.logout",
                target=user,
                after={"reason": reason or "signed out"},
            )


@receiver(user_login_failed)
def _note_login_failed(sender, credentials, request=None, **kwargs):
    # Kept outside the hash chain and folded in by batch (governance.signin): a flood of
    # wrong passwords must not queue every audited write behind the chain's lock.
    signin.failed_signin_note(
        username=str(credentials.get("username", "")),
        client_ip=request_context.client_ip(request) if request is not None else None,
    )


@receiver(user_locked_out)
def _audit_lockout(sender, request=None, username=None, ip_address=None, **kwargs):
    # Mirrored into the cache first: the next attempts are refused by the sign-in gate
    # (governance.signin_gate) without reaching axes, the database or a template.
    signin_gate.lock_mirror(username=username, ip_address=ip_address)
    signin.lockout_note(username=username, ip_address=ip_address)


@before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    if headers is not None:
        headers.setdefault("attest_request_id", request_context.current().request_id)


@task_prerun.connect
def _enter_task_context(task_id=None, task=None, **kwargs):
    # Eager (in-process) tasks keep the id of the request that queued them.
    request_id = getattr(task.request, "attest_request_id", None) if task else None
    request_id = request_id or request_context.current().request_id
    manager = request_context.audit_context(source="task", request_id=request_id)
    manager.__enter__()
    _TASK_CONTEXTS[task_id] = manager


@task_postrun.connect
def _leave_task_context(task_id=None, **kwargs):
    manager = _TASK_CONTEXTS.pop(task_id, None)
    if manager is not None:
        manager.__exit__(None, None, None)
