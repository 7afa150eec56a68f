"""The config file: per-client sections, nothing written until stored, owner-only files."""

import stat

import pytest

from gladier.exc import ConfigException
from gladier.storage import GladierConfig, default_config_path, section_name


def test_default_config_path_is_under_home_gladier(isolated_home):
    assert default_config_path("abc") == isolated_home / ".gladier" / "abc.cfg"


def test_section_name_is_snake_case_of_client_class():
    assert section_name("XPCSReconstructionClient") == "xpcs_reconstruction_client"


def test_reading_a_missing_config_writes_nothing(tmp_path):
    section = GladierConfig(tmp_path / "cfg" / "client.cfg").section("my_client")

    assert section.get_value("flow_id") is None
    assert section.items() == {}
    section.del_value("flow_id")
    assert not (tmp_path / "cfg").exists()


def test_stored_value_is_read_back_by_a_new_config_object(tmp_path):
    path = tmp_path / "client.cfg"
    GladierConfig(path).section("my_client").set_value("flow_id", "123")

    assert GladierConfig(path).section("my_client").get_value("flow_id") == "123"


def test_sections_of_two_clients_do_not_mix(tmp_path):
    config = GladierConfig(tmp_path / "client.cfg")
    config.section("first_client").set_value("flow_id", "1")
    config.section("second_client").set_value("flow_id", "2")
    config.section("first_client").del_value("flow_id")

    assert config.section("first_client").get_value("flow_id") is None
    assert config.section("second_client").get_value("flow_id") == "2"


def test_values_with_percent_signs_are_stored_verbatim(tmp_path):
    section = GladierConfig(tmp_path / "client.cfg").section("my_client")
    section.set_value("pattern", "%(name)s_100%")

    assert section.get_value("pattern") == "%(name)s_100%"


def test_config_file_and_directory_are_created_owner_only(isolated_home):
    path = default_config_path("abc")
    GladierConfig(path).section("my_client").set_value("flow_id", "123")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["abc.cfg"]


def test_keys_keep_their_case_when_written_and_read(tmp_path):
    path = tmp_path / "client.cfg"
    GladierConfig(path).section("my_client").set_value("scanPath", "/override")

    assert "scanPath = /override" in path.read_text()
    assert GladierConfig(path).section("my_client").items() == {"scanPath": "/override"}


def test_hand_written_keys_keep_their_case(tmp_path):
    path = tmp_path / "client.cfg"
    path.write_text("[my_client]\nscanPath = /override\nflow_id = 123\n")
    section = GladierConfig(path).section("my_client")

    section.set_value("flow_checksum", "abc")

    assert section.items() == {"scanPath": "/override", "flow_id": "123", "flow_checksum": "abc"}


def test_key_lowercased_by_an_older_version_is_found_and_replaced(tmp_path):
    path = tmp_path / "client.cfg"
    path.write_text("[my_client]\nreconstructscan_function_id = 123\n")
    section = GladierConfig(path).section("my_client")

    assert section.get_value("ReconstructScan_function_id") == "123"
    section.set_value("ReconstructScan_function_id", "456")
    assert section.items() == {"ReconstructScan_function_id": "456"}
    section.del_value("ReconstructScan_function_id")
    assert section.items() == {}


@pytest.mark.parametrize("text, complaint", [
    ("flow_id = 123\n", "no section header"),
    ("[my_client]\nflow_id = 1\nflow_id = 2\n", "'flow_id'"),
], ids=["missing_section_header", "duplicate_key"])
def test_malformed_config_file_is_a_config_exception_naming_the_file(tmp_path, text,
                                                                     complaint):
    path = tmp_path / "client.cfg"
    path.write_text(text)

    with pytest.raises(ConfigException, match="or delete it") as raised:
        GladierConfig(path).section("my_client").get_value("flow_id")
    assert str(path) in str(raised.value)
    assert complaint in str(raised.value).lower()


def test_unwritable_config_path_is_a_config_exception_naming_the_file(tmp_path):
    (tmp_path / "not_a_dir").write_text("")
    path = tmp_path / "not_a_dir" / "client.cfg"

    with pytest.raises(ConfigException, match="secret_config_filename") as raised:
        GladierConfig(path).section("my_client").set_value("flow_id", "123")
    assert f"Cannot write the gladier config file {path}" in str(raised.value)


def test_unreadable_config_file_is_a_config_exception_not_an_empty_config(tmp_path):
    path = tmp_path / "client.cfg"
    path.mkdir()

    with pytest.raises(ConfigException, match=f"Cannot read the gladier config file {path}"):
        GladierConfig(path).section("my_client").get_value("flow_id")
