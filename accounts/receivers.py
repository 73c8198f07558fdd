"""Revoking a user's API tokens wherever the password changes or the account is deactivated: the
admin (user form, password form, own password), `manage.py changepassword`, `seed_demo`, a service.
Model signals catch every path that saves the user; the old row is read only when the save may
have changed the password or is_active (not for the last_login update of every sign-in)."""

from __future__ import annotations

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from accounts import services
from accounts.models import User

_WATCHED = frozenset({"password", "is_active"})


@receiver(pre_save, sender=User, dispatch_uid="accounts_note_credential_change")
def _note_credential_change(sender, instance: User, raw: bool = False, update_fields=None, **_kwargs) -> None:
    instance._revoke_tokens_reason = None
    if raw or instance._state.adding or (update_fields is not None and not _WATCHED & set(update_fields)):
        return
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password:
        instance._revoke_tokens_reason = "password changed"
    elif before["is_active"] and not instance.is_active:
        instance._revoke_tokens_reason = "deactivated"


@receiver(post_save, sender=User, dispatch_uid="accounts_revoke_tokens")
def _revoke_tokens(sender, instance: User, created: bool = False, raw: bool = False, **_kwargs) -> None:
    reason = getattr(instance, "_revoke_tokens_reason", None)
    if reason and not created and not raw:
        instance._revoke_tokens_reason = None
        services.revoke_tokens(user=instance, reason=reason)
