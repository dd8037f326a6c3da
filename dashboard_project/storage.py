"""The static files storage: hashed names once collected, plain names before.

``make run`` collects the static files; a fresh clone's ``manage.py
runserver`` has not, and must still show its pages with DEBUG off.
"""
from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestOrPlainStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's compressed manifest storage, for a checkout that may not have run ``collectstatic``.

    With a manifest every name is hashed and strict, as in production: a
    file missing from it is an error. Without one, Django's storage would
    fail every ``{% static %}`` ("Missing staticfiles manifest entry"), so
    this one gives the plain name, as ``StaticFilesStorage`` does, and the
    settings let WhiteNoise serve it from the finders. ``collectstatic``
    works as before: it writes the manifest that later processes load.
    """

    has_manifest = False

    def read_manifest(self):
        """Django reads the manifest once, when the storage is created: note whether there was one."""
        content = super().read_manifest()
        self.has_manifest = content is not None
        return content

    def save_manifest(self):
        super().save_manifest()
        self.has_manifest = True

    def stored_name(self, name):
        if not self.has_manifest:
            return name
        return super().stored_name(name)
