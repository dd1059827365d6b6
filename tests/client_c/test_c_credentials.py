"""The C client finds the password of its own user's stores in their credentials files, as Python does.

Each store here is started by Python (which writes the files); the C side is
``c_tests.c``'s ``smoke`` case (a plain and a chunked round trip), or
``connect_fails`` for a refusal. Connecting at all proves that C names the
file as Python does (simdask/transport/credentials.py), for node-local
addresses (after the host name) and others alike.
"""

from __future__ import annotations

import pytest
from simdask_tests_native import native_env, run_program

from simdask import Store
from simdask.store.files import write_private
from simdask.transport import credentials_file, parse_addresses


@pytest.fixture
def creds(tmp_path, monkeypatch):
    """This test's own credentials folder, for the stores started here and the C programs alike."""
    folder = tmp_path / "credentials"
    monkeypatch.setenv("SIMDASK_CREDENTIALS_DIR", str(folder))
    monkeypatch.delenv("SIMDASK_PASSWORD", raising=False)
    return folder


def smoke(native_c, address: str, **env: str) -> None:
    run_program([native_c.c_tests, "smoke"], native_env(address, **env))


def refused(native_c, address: str, **env: str) -> str:
    return run_program([native_c.c_tests, "connect_fails", "SD_ERR_AUTH"], native_env(address, **env)).stdout


@pytest.mark.parametrize("kind", ["standalone", "unix", "cluster"])
def test_c_connects_to_a_default_store_without_being_told_its_password(native_c, creds, kind):
    with Store(kind) as store:
        assert store.password and all(f.parent == creds for f in store.credentials_files)
        smoke(native_c, store.address, SIMDASK_CREDENTIALS_DIR=str(creds))
        if kind == "cluster":  # any one node of the list has a file
            smoke(native_c, str(store.servers[1].address), SIMDASK_CREDENTIALS_DIR=str(creds))
        out = refused(native_c, store.address, SIMDASK_CREDENTIALS_DIR=str(creds.parent / "empty"))
        assert any(str(s.address) in out for s in store.servers)
        assert "SIMDASK_CREDENTIALS_DIR" in out and "SIMDASK_PASSWORD" in out


def test_c_reads_the_home_folder_by_default(native_c, tmp_path, monkeypatch):
    monkeypatch.delenv("SIMDASK_CREDENTIALS_DIR", raising=False)
    monkeypatch.delenv("SIMDASK_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with Store() as store:
        assert store.credentials_files[0].parent == tmp_path / ".simdask" / "credentials"
        smoke(native_c, store.address, HOME=str(tmp_path))


def test_c_finds_a_store_off_loopback_by_its_plain_address(native_c, creds, non_loopback_ipv4):
    with Store(host=non_loopback_ipv4) as store:
        smoke(native_c, store.address, SIMDASK_CREDENTIALS_DIR=str(creds))


def test_c_explicit_passwords_win_and_stale_files_are_dropped(native_c, creds):
    with Store() as store:
        env = {"SIMDASK_CREDENTIALS_DIR": str(creds)}
        assert "authentication failed" in refused(native_c, store.address, SIMDASK_PASSWORD="wrong", **env)
        write_private(store.credentials_files[0], "another-store's\n")
        out = refused(native_c, store.address, **env)
        assert f"credentials file {store.credentials_files[0]}" in out
    with Store(password="") as open_store:  # a file left for an address now served without a password
        write_private(credentials_file(parse_addresses(open_store.address)[0]), "stale\n")
        smoke(native_c, open_store.address, SIMDASK_CREDENTIALS_DIR=str(creds))
        refused(native_c, open_store.address, SIMDASK_PASSWORD="stale", **env)  # explicit: never dropped


def test_c_skips_files_others_could_touch(native_c, creds, tmp_path):
    with Store() as store:
        env = {"SIMDASK_CREDENTIALS_DIR": str(creds)}
        path = store.credentials_files[0]
        path.chmod(0o644)
        out = refused(native_c, store.address, **env)
        assert f"skipped the credentials file {path}: group or others may access it" in out
        path.unlink()
        elsewhere = tmp_path / "elsewhere"
        write_private(elsewhere, store.password)
        path.symlink_to(elsewhere)
        assert "it is a symlink" in refused(native_c, store.address, **env)
