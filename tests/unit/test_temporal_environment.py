"""Where Temporal is and how to reach it, read from Temporal's environment configuration as its CLI reads it
(referrals/temporal_environment.py): the variables, a profile of a temporal.toml, and the names before 1.0."""

from pathlib import Path

import pytest

from referrals.temporal_environment import DEPRECATED, TemporalSettingError, read

pytestmark = pytest.mark.unit

PROFILES = """
[profile.default]
address = "temporal.internal:7233"
namespace = "cpd"

[profile.cloud]
address = "cpd-referrals.a1b2c.tmprl.cloud:7233"
namespace = "cpd-referrals.a1b2c"
api_key = "from-the-file"
"""


@pytest.fixture
def toml(tmp_path) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILES)
    return path


def test_nothing_set_is_the_local_dev_server_in_plain_text(tmp_path):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    found = read({"TEMPORAL_CONFIG_FILE": str(empty)})
    assert (found.address, found.namespace, found.uses_tls, found.api_key) == ("localhost:7233", "default", False, None)
    assert found.deprecated == () and found.source == ""


def test_a_profile_of_the_operators_file_serves_as_it_is_and_the_variables_win_over_it(toml):
    cloud = read({"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_PROFILE": "cloud"})
    assert (cloud.address, cloud.namespace, cloud.api_key) == (
        "cpd-referrals.a1b2c.tmprl.cloud:7233",
        "cpd-referrals.a1b2c",
        "from-the-file",
    )
    assert cloud.uses_tls and cloud.source == f"profile 'cloud' of {toml}"  # an API key turns TLS on
    overridden = read({"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_ADDRESS": "elsewhere:7233"})
    assert (overridden.address, overridden.namespace) == ("elsewhere:7233", "cpd")


def test_the_names_before_1_0_serve_only_where_temporals_configuration_is_silent_and_are_flagged(tmp_path, toml):
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    old = {"REFERRALS_TEMPORAL_ADDRESS": "old:7233", "REFERRALS_TEMPORAL_NAMESPACE": "old-ns"}
    alone = read({"TEMPORAL_CONFIG_FILE": str(empty), **old}, address="old:7233", namespace="old-ns")
    assert (alone.address, alone.namespace) == ("old:7233", "old-ns")
    assert alone.deprecated == tuple(DEPRECATED)  # each warned about in the log, with the name replacing it
    beside = read({"TEMPORAL_CONFIG_FILE": str(toml), **old}, address="old:7233", namespace="old-ns")
    assert (beside.address, beside.namespace) == ("temporal.internal:7233", "cpd") and beside.deprecated
    given = read({"TEMPORAL_CONFIG_FILE": str(empty)}, address="test:1")  # a test's own Settings: not deprecated
    assert given.address == "test:1" and given.deprecated == ()


def test_a_setting_that_cannot_work_is_refused_naming_it(tmp_path, toml):
    with pytest.raises(TemporalSettingError, match=r"^TEMPORAL_CONFIG_FILE names /nowhere.toml, which is not a file$"):
        read({"TEMPORAL_CONFIG_FILE": "/nowhere.toml"})
    with pytest.raises(TemporalSettingError, match=r"Profile 'nope' not found.*TEMPORAL_PROFILE"):
        read({"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_PROFILE": "nope"})
    key = tmp_path / "client.key"
    key.write_text("not read")
    missing = {"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem")}
    with pytest.raises(TemporalSettingError, match=r"^TEMPORAL_TLS_CLIENT_CERT_PATH names .*client.pem, which cannot"):
        read({**missing, "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key)})


def test_what_is_logged_of_a_connection_holds_no_secret(toml):
    found = read({"TEMPORAL_CONFIG_FILE": str(toml), "TEMPORAL_PROFILE": "cloud", "TEMPORAL_API_KEY": "s3cret"})
    assert found.api_key == "s3cret" and "s3cret" not in repr(found.describe())
    assert found.describe()["api_key"] is True and found.describe()["client_certificate"] is False
