"""SearchIngest, SearchDelete, SearchDeleteByQuery: the Globus Search action providers."""

from __future__ import annotations

import typing as t

from gladier.tools.builtins.action import ActionState

SEARCH_INGEST_ACTION_URL = "https://actions.globus.org/search/ingest"
SEARCH_DELETE_ACTION_URL = "https://actions.globus.org/search/delete"


class SearchIngest(ActionState):
    """Ingest one document (``content``) under ``subject`` into ``search_index``."""

    action_url: t.Optional[str] = SEARCH_INGEST_ACTION_URL
    id: t.Optional[str] = None
    search_index: str = "$.input.search_index"
    subject: str = "$.input.subject"
    visible_to: t.Union[t.List[str], str] = "$.input.visible_to"
    content: t.Union[t.Dict[str, t.Any], str] = "$.input.content"

    def get_parameters(self) -> t.Dict[str, t.Any]:
        return {
            "id": self.id,
            "search_index": self.search_index,
            "subject": self.subject,
            "visible_to": self.visible_to,
            "content": self.content,
        }


class SearchDelete(ActionState):
    """Delete one ``subject`` from ``search_index``."""

    action_url: t.Optional[str] = SEARCH_DELETE_ACTION_URL
    search_index: str = "$.input.search_index"
    subject: str = "$.input.subject"

    def get_parameters(self) -> t.Dict[str, t.Any]:
        return {
            "search_index": self.search_index,
            "delete_by": "subject",
            "subject": self.subject,
        }


class SearchDeleteByQuery(ActionState):
    """Delete every entry of ``search_index`` matching query ``q`` (and ``filters``)."""

    action_url: t.Optional[str] = SEARCH_DELETE_ACTION_URL
    search_index: str = "$.input.search_index"
    q: str = "$.input.q"
    filters: t.Optional[t.Union[t.List[t.Any], str]] = None

    def get_parameters(self) -> t.Dict[str, t.Any]:
        return {
            "search_index": self.search_index,
            "delete_by": "query",
            "q": self.q,
            "filters": self.filters,
        }
