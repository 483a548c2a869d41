"""Object storage through fsspec against a local S3 (moto in server mode, started here): URLs
parsed and refused, objects and prefixes fetched into the content-addressed cache, and every
failure (no endpoint, no bucket, no key, denied, too large, no extra) one line that never shows
the credentials."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.errors import InputError
from assay.formats import remote
from tests.moto_s3 import (
    SECRET,
    client,
    deny_bucket,
    free_port,
    need,
    need_moto,
    s3_server,
    upload,
)

need_moto()

GT = b"id,label\na,cat\nb,dog\n"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("bucket")
    (folder / "gt.csv").write_bytes(GT)
    (folder / "images" / "cat").mkdir(parents=True)
    (folder / "images" / "cat" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "images" / "dog.png").write_bytes(b"\x89PNG\r\n\x1a\nnor this")
    with s3_server() as url:
        upload(url, "data", folder)
        deny_bucket(url, "denied")
        yield url


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str) -> Path:
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "ws"))
    return tmp_path / "ws"


def _line(exc: pytest.ExceptionInfo[InputError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and SECRET not in text
    return text


def test_urls_are_parsed_and_bad_ones_refused_in_one_line() -> None:
    assert remote.parse_url("s3://data/a/b.csv") == remote.Url("s3", "data", "a/b.csv")
    assert remote.parse_url("gs://data/x").scheme == "gs"
    assert remote.parse_url("az://container/x").scheme == "az"
    assert remote.parse_url("s3://data/imgs/").is_prefix
    with pytest.raises(InputError) as exc:
        remote.parse_url("s3://AKIAKEY:topsecret@data/gt.csv")
    assert "topsecret" not in str(exc.value) and "AKIAKEY" not in str(exc.value)
    assert "credentials in a URL are refused" in _line(exc)
    with pytest.raises(InputError, match="unsupported URL scheme 'ftp://'"):
        remote.parse_url("ftp://data/gt.csv")
    with pytest.raises(InputError, match="names no bucket"):
        remote.parse_url("s3:///gt.csv")
    with pytest.raises(InputError, match="query"):
        remote.parse_url("s3://data/gt.csv?X-Amz-Signature=abc")
    assert remote.is_url("s3://data/x") and not remote.is_url("data/x")


def test_an_object_is_fetched_once_into_the_content_addressed_cache(home: Path) -> None:
    path = remote.fetch("s3://data/gt.csv")
    assert path.read_bytes() == GT
    assert path == home / "remote-cache" / "files" / "s3" / "data" / "gt.csv"
    import hashlib

    blob = home / "remote-cache" / "blobs" / hashlib.sha256(GT).hexdigest()
    assert blob.is_file() and os.path.samefile(blob, path)
    assert remote.url_of(path) == "s3://data/gt.csv"
    stamp = blob.stat().st_ino
    assert remote.fetch("s3://data/gt.csv") == path  # unchanged: not read again
    assert blob.stat().st_ino == stamp


def test_a_changed_object_is_read_again(home: Path, endpoint: str) -> None:
    s3 = client(endpoint)
    s3.put_object(Bucket="data", Key="moving.csv", Body=b"id,label\n1,a\n")
    assert remote.fetch("s3://data/moving.csv").read_bytes() == b"id,label\n1,a\n"
    s3.put_object(Bucket="data", Key="moving.csv", Body=b"id,label\n1,b\n")
    assert remote.fetch("s3://data/moving.csv").read_bytes() == b"id,label\n1,b\n"


def test_a_prefix_is_fetched_as_a_folder_kept_in_step(home: Path, endpoint: str) -> None:
    folder = remote.fetch("s3://data/images/")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png")) == [
        "cat/a.png",
        "dog.png",
    ]
    assert remote.fetch("s3://data/images") == folder  # without the slash: the same prefix
    s3 = client(endpoint)
    s3.put_object(Bucket="data", Key="images/owl.png", Body=b"x")
    s3.delete_object(Bucket="data", Key="images/dog.png")
    folder = remote.fetch("s3://data/images/")
    assert sorted(p.name for p in folder.rglob("*.png")) == ["a.png", "owl.png"]
    s3.delete_object(Bucket="data", Key="images/owl.png")
    s3.put_object(Bucket="data", Key="images/dog.png", Body=b"\x89PNG\r\n\x1a\nnor this")


def test_missing_key_bucket_and_denied_are_one_line_each(home: Path) -> None:
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://data/nope.csv")
    assert _line(exc) == "s3://data/nope.csv: no such object"
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://no-such-bucket/gt.csv")
    assert _line(exc) == "s3://no-such-bucket/gt.csv: no such bucket 'no-such-bucket'"
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://denied/secret.csv")
    assert "access denied" in _line(exc)
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://data/nothing-here/")
    assert "no such object or prefix" in _line(exc)
    assert not (home / "remote-cache" / "files" / "s3" / "denied").exists()


def test_an_unreachable_endpoint_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://data/gt.csv")
    assert "cannot reach the S3 endpoint" in _line(exc)


def test_size_caps(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="larger than the 8 bytes limit"):
        b"".join(remote.iter_url("s3://data/gt.csv", cap=8))
    monkeypatch.setenv("ASSAY_MAX_INPUT_BYTES", "10")
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://data/gt.csv")
    assert "limit on input files" in _line(exc)
    assert not list((home / "remote-cache").rglob("gt.csv"))


def test_the_cache_stays_within_its_size(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_REMOTE_CACHE_BYTES", str(len(GT) + 5))
    first = remote.fetch("s3://data/gt.csv")
    second = remote.fetch("s3://data/images/cat/a.png")
    assert second.is_file() and not first.exists()  # the least recently used went
    blobs = list((home / "remote-cache" / "blobs").iterdir())
    assert sum(b.stat().st_size for b in blobs) <= len(GT) + 5
    assert remote.fetch("s3://data/gt.csv").read_bytes() == GT  # and comes back on demand


@pytest.mark.parametrize("url", ["gs://bucket/gt.csv", "az://container/gt.csv"])
def test_gs_and_az_missing_extra_is_one_line(
    url: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = remote.SCHEMES[url.split(":")[0]][0]
    monkeypatch.setitem(sys.modules, package, None)  # import fails as if not installed
    monkeypatch.setattr(remote, "_filesystems", {})
    with pytest.raises(InputError) as exc:
        remote.fetch(url)
    assert _line(exc) == f"{url}: {url.split(':')[0]}:// URLs need {package}: install assay[cloud]"


@pytest.mark.parametrize("url", ["gs://bucket/gt.csv", "az://container/gt.csv"])
def test_gs_and_az_unreachable_is_one_line(
    url: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need(remote.SCHEMES[url.split(":")[0]][0])
    port = free_port()
    monkeypatch.setenv("ASSAY_REMOTE_TIMEOUT", "1")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
    )
    with pytest.raises(InputError) as exc:
        remote.fetch(url)
    line = _line(exc)
    assert line.startswith(url + ": ") and key not in line
    assert "did not answer" in line or "cannot reach" in line


def test_az_without_an_account_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need("adlfs")
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InputError) as exc:
        remote.fetch("az://container/gt.csv")
    assert "no Azure Blob Storage account" in _line(exc)


def test_a_cached_key_that_climbs_out_is_refused(home: Path) -> None:
    with pytest.raises(InputError, match="'..' part"):
        remote.fetch("s3://data/../../etc/passwd")


def test_the_readers_take_a_url(home: Path) -> None:
    from assay.formats.table_files import read_table

    table = read_table("s3://data/gt.csv", string_columns=("id",))
    assert table.column("label").to_pylist() == ["cat", "dog"]
    with pytest.raises(InputError, match="no such object"):
        read_table("s3://data/missing.csv")


def test_a_dataset_version_from_a_url_records_it_and_reads_it_again(
    home: Path, endpoint: str
) -> None:
    import shutil

    from assay.store import Workspace

    s3 = client(endpoint)
    s3.put_object(Bucket="data", Key="reg/gt.csv", Body=GT)
    ws = Workspace(home)
    version = ws.add_dataset_version("remote", task="classification", source="s3://data/reg/gt.csv")
    assert version.source == "s3://data/reg/gt.csv"
    shutil.rmtree(home / "remote-cache")  # the cache may be cleared: read from the bucket again
    assert ws.dataset_ground_truth(version.id).read_bytes() == GT
    s3.put_object(Bucket="data", Key="reg/gt.csv", Body=GT + b"c,owl\n")
    with pytest.raises(InputError, match="changed since dataset version"):
        ws.dataset_ground_truth(version.id)


def test_an_object_named_like_a_prefix_is_one_line(home: Path, endpoint: str) -> None:
    s3 = client(endpoint)
    s3.put_object(Bucket="data", Key="clash/a", Body=b"file")
    s3.put_object(Bucket="data", Key="clash/a/b.csv", Body=GT)
    assert remote.fetch("s3://data/clash/a/b.csv").read_bytes() == GT
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://data/clash/a")
    assert "both an object and a prefix" in _line(exc)


def test_the_cache_never_holds_the_credentials(home: Path) -> None:
    remote.fetch("s3://data/images/")
    remote.fetch("s3://data/gt.csv")
    for path in (home / "remote-cache").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()
            assert SECRET not in str(path)


def test_no_credentials_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(InputError) as exc:
        remote.fetch("s3://data/gt.csv")
    assert "no credentials for S3 in the environment" in _line(exc)


def test_a_prefix_holds_only_what_lies_under_it(home: Path, endpoint: str) -> None:
    s3 = client(endpoint)
    s3.put_object(Bucket="data", Key="part/x.csv", Body=GT)
    s3.put_object(Bucket="data", Key="partner/y.csv", Body=GT)
    assert [e.url.key for e in remote.list_url("s3://data/part/")] == ["part/x.csv"]
    folder = remote.fetch("s3://data/part")
    assert [p.name for p in folder.iterdir()] == ["x.csv"]
