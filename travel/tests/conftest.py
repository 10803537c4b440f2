import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The personas are created with passwords; PBKDF2's million rounds cost ~0.5 s a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
