"""Notifications of lifecycle events, sent after commit by a worker (governance.tasks).

Every service that opens or decides a transition request (transitions, the emergency
rollback's post-hoc review) tells the people concerned through `transition_notify`, in
its own transaction: the job is written with the event and sent once it commits."""

from core.dispatch import job_queue
from governance.models import TransitionRequest

# Queued by name: governance.tasks reads the selectors, which build on the services.
NOTIFY_TRANSITION_TASK = "governance.tasks.notify_transition"

OPENED = "opened"
DECIDED = "decided"


def transition_notify(*, request: TransitionRequest, event: str, actor) -> None:
    """Queue the notification of `event` ("opened": the possible deciders; "decided": the
    requester) on `request`. Call it inside the write's transaction."""
    version = request.model_version
    job_queue(
        task=NOTIFY_TRANSITION_TASK,
        kind="notification",
        actor=actor,
        registered_model_id=version.registered_model_id,
        model_version_id=version.pk,
        result={"request": request.pk, "event": event},
    )
