"""Celery's filesystem broker, with every message published atomically.

Kombu's filesystem transport creates a message file, then writes it. A
worker polling the folder can take the file in between, read nothing and
stop with a ``JSONDecodeError`` (seen within minutes under ``make run``'s
load). Here a message is written under a name the readers skip, then
renamed into place in one step, so a reader sees a whole message or none.
The project's Celery app uses this transport whenever the broker URL is
``filesystem://`` (see ``dashboard_project.celery``).
"""
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

#: Suffix of a message being written: readers only take ``<queue>.msg`` files.
PARTIAL_SUFFIX = ".part"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Write the message beside the queue, then rename it into the queue."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = path + PARTIAL_SUFFIX
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
