"""moto's S3 server on loopback, for tests that need object storage through s3fs."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["moto_s3"]

_CREDENTIALS = {
    # s3fs needs the region from the environment, not client options, to make buckets.
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@contextlib.contextmanager
def moto_s3(bucket: str) -> Iterator[dict[str, Any]]:
    """A moto S3 server holding ``bucket``; yields the s3fs ``storage_options`` that reach it.
    Test credentials are in the environment while it runs, and the previous values after."""
    import fsspec
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in _CREDENTIALS}
    os.environ.update(_CREDENTIALS)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": f"http://{host}:{port}"},
        }
        fsspec.filesystem("s3", **options).mkdir(bucket)
        yield options
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
