"""Helpers shared by the governance page tests."""

from governance.services import transition_request_open


def open_request(actor, version, target="Production", **kwargs):
    return transition_request_open(
        actor=actor,
        version=version,
        target_stage=target,
        justification="Better AUC on the holdout set",
        **kwargs,
    )


def ready(version):
    version.artifacts.update(scan_status="clean")
    return version


def access_group(name):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=name)
