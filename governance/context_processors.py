from governance import access


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "is_auditor": access.is_auditor(user),
        "is_registry_admin": access.is_registry_admin(user),
        "is_data_scientist": access.has_role(user, access.ROLE_DATA_SCIENTISTS),
        "is_approver": access.has_role(user, access.ROLE_APPROVERS),
    }
