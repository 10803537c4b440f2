from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save
from django.dispatch import receiver

from .lib.sqlite_unicode import sqlite_unicode_functions_install
from .models import UserProfile


@receiver(connection_created)
def sqlite_folds_case_for_any_letter(sender, connection, **kwargs):
    # Name filters and searches are "not case-sensitive" on SQLite as on PostgreSQL.
    if connection.vendor == "sqlite":
        sqlite_unicode_functions_install(connection.connection)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def create_profile_for_new_user(sender, instance, created, raw=False, **kwargs):
    # raw: loaddata / restore brings its own profiles.
    if created and not raw:
        UserProfile.objects.get_or_create(user=instance)
