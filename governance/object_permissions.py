"""One object, fetched through `restrict()`, for a view that acts on it: NetBox's
`ObjectPermissionRequiredMixin`, declared once per view instead of written in each.

    class ModelRollback(ObjectPermissionMixin, ServiceFormView):
        queryset = RegisteredModel.objects.select_related("team")
        lookup = {"name": "name"}      # field of the queryset: keyword of the URL
        action = "approve"

Not visible to the user (no grant of any kind): 404, so its existence is not leaked.
Visible but `action` not allowed: 403 (`access.require` on the registered model the object
hangs off, through its `guarded_path`). A leaf like `access`: registry and governance views
both use it, and it imports nothing from either."""

from django.shortcuts import get_object_or_404

from governance import access


def guarded_object(obj):
    """The registered model that carries `obj`'s grants (`obj` itself for a model)."""
    path = getattr(type(obj), "guarded_path", "")
    for name in filter(None, path.split("__")):
        obj = getattr(obj, name)
    return obj


def object_for(user, queryset, action: str = "view", **lookup):
    """The object `lookup` names among those `user` may see (404 otherwise), after
    checking `action` on it (403). `queryset` is not restricted yet."""
    obj = get_object_or_404(queryset.restrict(user, "view", few_rows=True), **lookup)
    if action != "view":
        access.require(user, guarded_object(obj), action)
    return obj


class ObjectPermissionMixin:
    """Sets `self.object` before the handler runs (in `prepare`, which ServiceFormView
    calls once the HTTP method is allowed). Override `get_action(obj)` when the action
    depends on the object, or `check_permission(obj)` for a rule of its own (it runs after
    the 404 and must raise PermissionDenied)."""

    queryset = None
    lookup: dict = {"name": "name"}
    action = "view"

    def prepare(self) -> None:
        super().prepare()
        self.object = self.get_object()

    def get_object(self):
        lookup = {field: self.kwargs[kwarg] for field, kwarg in self.lookup.items()}
        obj = object_for(self.request.user, self.queryset.all(), "view", **lookup)
        self.check_permission(obj)
        return obj

    def get_action(self, obj) -> str:
        return self.action

    def check_permission(self, obj) -> None:
        action = self.get_action(obj)
        if action != "view":
            access.require(self.request.user, guarded_object(obj), action)
