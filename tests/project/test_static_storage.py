"""The static files storage: plain names until ``collectstatic``, then hashed and strict."""
import re

import pytest
from django.core.files.base import ContentFile

from dashboard_project.storage import ManifestOrPlainStaticFilesStorage

pytestmark = pytest.mark.once  # settings and files of the project, whatever the database

STYLESHEET = b"body { color: #222; }\n"


@pytest.fixture
def collected_root(tmp_path):
    """A STATIC_ROOT as ``collectstatic`` leaves it: the file copied, then hashed into the manifest."""
    storage = ManifestOrPlainStaticFilesStorage(location=tmp_path)
    storage.save("css/app.css", ContentFile(STYLESHEET))
    processed = list(storage.post_process({"css/app.css": (storage, "css/app.css")}))
    assert not [error for *_, error in processed if isinstance(error, Exception)]
    assert (tmp_path / "staticfiles.json").is_file()
    return tmp_path


def test_without_a_manifest_names_are_plain(tmp_path):
    storage = ManifestOrPlainStaticFilesStorage(location=tmp_path / "never-collected")
    assert storage.url("css/app.css") == "/static/css/app.css"
    assert storage.url("dashboard/dashboard.js") == "/static/dashboard/dashboard.js"


def test_with_a_manifest_names_are_hashed(collected_root):
    storage = ManifestOrPlainStaticFilesStorage(location=collected_root)  # a later process, as runserver
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", storage.url("css/app.css"))


def test_with_a_manifest_a_file_missing_from_it_is_an_error(collected_root):
    storage = ManifestOrPlainStaticFilesStorage(location=collected_root)
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry for 'css/missing.css'"):
        storage.url("css/missing.css")


def test_the_collecting_storage_uses_the_manifest_it_just_wrote(tmp_path):
    storage = ManifestOrPlainStaticFilesStorage(location=tmp_path)
    storage.save("css/app.css", ContentFile(STYLESHEET))
    assert storage.url("css/app.css") == "/static/css/app.css"
    list(storage.post_process({"css/app.css": (storage, "css/app.css")}))
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", storage.url("css/app.css"))
