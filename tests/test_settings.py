"""Settings: read once from the configuration file, the environment and the front end's options."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pytest

from indexer.errors import CivicSearchError, SettingsError
from indexer.settings import Settings


def test_each_setting_from_its_variable(tmp_path):
    settings = Settings.from_environ({
        "CIVIC_SEARCH_INDEX": str(tmp_path / "ix"),
        "CIVIC_SEARCH_MAX_FILE_MB": "2.5",
        "CIVIC_SEARCH_USER_DICT": f"{tmp_path / 'a.txt'}:{tmp_path / 'b.txt'}",
        "CIVIC_SEARCH_ALIASES": str(tmp_path / "aliases.tsv"),
        "CIVIC_SEARCH_EMBED_ORIGINS": "https://a.example, https://b.example:8443/",
        "CIVIC_SEARCH_URL_PREFIX": "search/",
        "CIVIC_SEARCH_DEBUG": "1",
        "PATH": "/usr/bin",  # other variables are not read
    })
    assert settings.index_dir == tmp_path / "ix" and settings.debug
    assert settings.indexing.max_file_mb == 2.5 and settings.indexing.max_file_bytes == int(2.5 * 2**20)
    assert settings.analysis.user_dictionaries == (str(tmp_path / "a.txt"), str(tmp_path / "b.txt"))
    assert settings.query.alias_files == (str(tmp_path / "aliases.tsv"),)
    assert settings.web.embed_origins == ("https://a.example", "https://b.example:8443")
    assert settings.web.url_prefix == "/search"


def test_defaults_and_empty_variables(tmp_path):
    settings = Settings.from_environ({"CIVIC_SEARCH_URL_PREFIX": "", "CIVIC_SEARCH_DEBUG": ""},
                                     overrides={"INDEX_DIR": tmp_path})
    assert settings == Settings(index_dir=tmp_path)
    assert settings.indexing.max_file_mb == 20 and not settings.debug and settings.web.url_prefix == ""


@pytest.mark.parametrize("suffix", [".json", ".py"])
def test_file_under_environment_under_overrides(tmp_path, suffix):
    path = tmp_path / f"civic{suffix}"
    values = {"INDEX_DIR": str(tmp_path / "from-file"), "ALIASES": ["x.tsv", "y.tsv"], "URL_PREFIX": "file",
              "MEETINGS_PER_PAGE": 5}
    if suffix == ".json":
        path.write_text(json.dumps(values))
    else:
        path.write_text("\n".join(f"{k} = {v!r}" for k, v in values.items()) + "\nlowercase = 1\n")
    environ = {"CIVIC_SEARCH_CONFIG": str(path), "CIVIC_SEARCH_URL_PREFIX": "env"}
    settings = Settings.from_environ(environ, overrides={"INDEX_DIR": tmp_path / "option"})
    assert settings.index_dir == tmp_path / "option"  # the option wins over the file
    assert settings.web.url_prefix == "/env"  # the environment wins over the file
    assert settings.query.alias_files == ("x.tsv", "y.tsv")  # a list in the file
    assert settings.config_file == str(path) and settings.file_config == values


@pytest.mark.parametrize("environ, message", [
    ({"CIVIC_SEARCH_EMBED_ORIGINS": "*"}, "not an origin"),
    ({"CIVIC_SEARCH_URL_PREFIX": "a b"}, "URL_PREFIX may only hold"),
    ({"CIVIC_SEARCH_CONFIG": "/no/such/file.json"}, "cannot read the configuration file /no/such/file.json"),
])
def test_unusable_values_are_one_named_error(environ, message):
    with pytest.raises(SettingsError, match=message) as caught:
        Settings.from_environ(environ, overrides={"INDEX_DIR": "unused"})
    assert isinstance(caught.value, CivicSearchError) and "\n" not in str(caught.value)


@pytest.mark.parametrize("text", ["[1, 2]", "{not json"])
def test_a_json_file_must_hold_an_object(tmp_path, text):
    path = tmp_path / "civic.json"
    path.write_text(text)
    with pytest.raises(SettingsError, match="civic.json"):
        Settings.from_environ({}, config_file=path, overrides={"INDEX_DIR": "unused"})


@dataclass(frozen=True)
class MailSettings:
    """A section another feature adds: one field on Settings and a from_environ."""

    host: str = ""
    port: int = 25

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "MailSettings":
        return cls(environ.get("CIVIC_SEARCH_SMTP_HOST", ""), int(environ.get("CIVIC_SEARCH_SMTP_PORT") or 25))


@dataclass(frozen=True)
class WithMail(Settings):
    mail: MailSettings = field(default_factory=MailSettings)


def test_a_new_section_is_one_field(tmp_path):
    path = tmp_path / "civic.json"
    path.write_text(json.dumps({"SMTP_PORT": 587}))
    settings = WithMail.from_environ({"CIVIC_SEARCH_SMTP_HOST": "mail.example", "CIVIC_SEARCH_CONFIG": str(path)},
                                     overrides={"INDEX_DIR": tmp_path})
    assert settings.mail == MailSettings("mail.example", 587)  # the file's key as its variable
    assert isinstance(settings.index_dir, Path) and settings.query.alias_files == ()
