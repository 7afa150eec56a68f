"""Token storage, where Gladier 0.11 keeps it, so an upgrade keeps the login.

A person's tokens (``UserApp``) are in a globus_sdk SQLite token storage beside the config
file (``~/.gladier/<client_id>.db``, namespace ``gladier_storage``). ``SQLiteTokenStorage``
creates a new database under an owner-only umask, so the file is 0600 from its first byte;
its directory is created owner-only here. A confidential client's tokens are in the config
file itself, section ``[tokens_<client_id>]``, one ``<resource_server>__<field>`` key per
value (dots of the resource server written as ``_``), as 0.11 flattens them.
"""

from __future__ import annotations

import pathlib
import typing as t

from globus_sdk.token_storage import SQLiteTokenStorage, TokenStorage, TokenStorageData

from gladier.ownership import check_trusted
from gladier.storage.files import ensure_private_dir
from gladier.storage.secrets_config import GladierSecretsConfig  # noqa: F401 (0.11's path)

if t.TYPE_CHECKING:
    from gladier.storage.config import GladierConfig

#: The SQLite namespace Gladier 0.11's UserAppLoginManager stores tokens under.
USER_TOKENS_NAMESPACE = "gladier_storage"
#: The token fields a flattened section holds (those of a token response, by server).
_FLAT_FIELDS = ("scope", "access_token", "refresh_token", "token_type",
                "expires_at_seconds", "resource_server", "identity_id")


def tokens_path_for(config_path: pathlib.Path) -> pathlib.Path:
    """``~/.gladier/<client_id>.cfg`` keeps its tokens in ``~/.gladier/<client_id>.db``
    (0.11's rule: the config file's stem, its last suffix replaced by ``.db``)."""
    config_path = pathlib.Path(config_path)
    return (config_path.parent / config_path.stem).with_suffix(".db").absolute()


def open_token_storage(path: pathlib.Path, *, namespace: str) -> SQLiteTokenStorage:
    """Open (creating owner-only if needed) the SQLite token storage at ``path``."""
    ensure_private_dir(path.parent)
    if path.exists():
        check_trusted(path, "The gladier token storage file")
    return SQLiteTokenStorage(path, namespace=namespace)


def _flat_key(resource_server: str, field: str) -> str:
    return f"{resource_server.replace('.', '_')}__{field}"


class ConfigTokenStorage(TokenStorage):
    """Tokens in one section of a gladier config file, flattened as Gladier 0.11 does."""

    def __init__(self, config: GladierConfig, section: str) -> None:
        super().__init__(namespace=section)
        self.config = config
        self.section = section

    def store_token_data_by_resource_server(
            self, token_data_by_resource_server: t.Mapping[str, TokenStorageData]) -> None:
        values = {}
        for data in token_data_by_resource_server.values():
            fields = data.to_dict()
            for field in _FLAT_FIELDS:
                value = fields.get(field)
                if value is not None or field != "identity_id":
                    values[_flat_key(data.resource_server, field)] = (
                        "" if value is None else str(value))
        self.config.update(self.section, values)

    def get_token_data_by_resource_server(self) -> dict[str, TokenStorageData]:
        grouped: dict[str, dict[str, str]] = {}
        for key, value in self.config.items(self.section).items():
            prefix, separator, field = key.rpartition("__")
            if separator:
                grouped.setdefault(prefix, {})[field] = value
        found = {}
        for fields in grouped.values():
            if not fields.get("resource_server") or not fields.get("access_token"):
                continue
            found[fields["resource_server"]] = TokenStorageData(
                resource_server=fields["resource_server"],
                identity_id=fields.get("identity_id") or None,
                scope=fields.get("scope", ""),
                access_token=fields["access_token"],
                refresh_token=fields.get("refresh_token") or None,
                expires_at_seconds=int(fields.get("expires_at_seconds") or 0),
                token_type=fields.get("token_type") or None,
            )
        return found

    def remove_token_data(self, resource_server: str) -> bool:
        keys = [key for key in self.config.items(self.section)
                if key.rpartition("__")[0] == resource_server.replace(".", "_")]
        self.config.remove(self.section, keys)
        return bool(keys)
