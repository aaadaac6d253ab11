"""Signals, used only for cache invalidation (the glossary index behind the auto-linker)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from courses.markdown import glossary_index_invalidate
from courses.models import GlossaryTerm


@receiver([post_save, post_delete], sender=GlossaryTerm, dispatch_uid="glossary_index_invalidate")
def _glossary_changed(sender, **kwargs) -> None:
    glossary_index_invalidate()
