"""Static typing: with boto3-stubs installed, a walk of a typed client method is typed."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def test_pages_of_a_typed_client_method_are_the_operations_output_typeddict() -> None:
    api = pytest.importorskip("mypy.api")
    pytest.importorskip("mypy_boto3_s3")
    target = HERE / "typing" / "typed_pages.py"
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir=/dev/null",
            "--follow-imports=silent",
            str(target),
        ]
    )
    assert status == 0, stdout + stderr


def test_a_wrong_expectation_is_caught(tmp_path: Path) -> None:
    """The check above can fail: a deliberately wrong assert_type is reported."""
    api = pytest.importorskip("mypy.api")
    pytest.importorskip("mypy_boto3_s3")
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "import pagewalk\n"
        "from mypy_boto3_s3 import S3Client\n"
        "from mypy_boto3_s3.type_defs import ListObjectsOutputTypeDef\n"
        "from typing_extensions import assert_type\n"
        "def f(s3: S3Client) -> None:\n"
        "    for page in pagewalk.pages(s3.list_objects_v2, Bucket='b'):\n"
        "        assert_type(page, ListObjectsOutputTypeDef)\n"
    )
    stdout, _, status = api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir=/dev/null",
            "--follow-imports=silent",
            str(wrong),
        ]
    )
    assert status == 1
    assert "assert_type" in stdout or "Expression is of type" in stdout
