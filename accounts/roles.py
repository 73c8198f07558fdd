"""Admin permissions by role: each staff role has a Group of the same name, filled by migrations."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence


def grant_role_permissions(role: str, permissions: Mapping[str, Sequence[str]]) -> Callable:
    """A RunPython function giving the Group named `role` these permissions ({app_label: [codename]}).

    Permissions are normally created after migrations run; they are created here first so a fresh
    database gets the group complete."""

    def forward(apps, schema_editor) -> None:
        from django.contrib.auth.management import create_permissions

        for app_config in apps.get_app_configs():
            if app_config.label in permissions:
                app_config.models_module = True
                create_permissions(app_config, apps=apps, verbosity=0)
                app_config.models_module = None
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
        group, _ = group_model.objects.get_or_create(name=role)
        for app_label, codenames in permissions.items():
            found = list(
                permission_model.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            )
            missing = set(codenames) - {p.codename for p in found}
            if missing:
                raise RuntimeError(f"unknown permissions for {app_label}: {sorted(missing)}")
            group.permissions.add(*found)

    return forward
