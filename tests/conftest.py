"""Shared fixtures: one moto server on 127.0.0.1 (port 0) per test session, and clients for it.

Every client made here has botocore's own retries disabled (``total_max_attempts=1``), so a
fault reaches pagewalk's retry layer (or the test) unaltered.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

REGION = "us-east-1"
NO_BOTOCORE_RETRIES = Config(retries={"total_max_attempts": 1})


class MotoServer:
    """A moto server running in this process, reachable over HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"

    def reset(self) -> None:
        """Wipe every service's state."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def client(self, service: str, config: Config | None = None, **kwargs: Any) -> Any:
        """A boto3 client for ``service`` against this server, botocore retries off."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config or NO_BOTOCORE_RETRIES,
            **kwargs,
        )

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """The session's moto server, with its state wiped for this test."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def aws(moto: MotoServer) -> Callable[..., Any]:
    """Factory: ``aws("s3")`` is a client for the fresh moto server, botocore retries off."""
    return moto.client
