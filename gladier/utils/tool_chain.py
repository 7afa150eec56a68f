"""Gladier 0.11's ``ToolChain`` (its module path): tools' flows joined in order, built on
:func:`gladier.flowgen.chain.chain_tools`."""

from __future__ import annotations

import typing as t

from gladier.flowgen.chain import chain_tools


class ToolChain:
    """``ToolChain(flow_comment=...).chain(tools).flow_definition``."""

    def __init__(self, flow_comment: str | None = None) -> None:
        self.flow_comment = flow_comment
        self.tools: list = []

    def chain(self, tools: t.Sequence[t.Any]) -> ToolChain:
        """Add ``tools`` (GladierBaseTool instances) after the ones chained so far."""
        self.tools.extend(tools)
        chain_tools(self.tools, comment=self.flow_comment)  # raise now, as 0.11 does
        return self

    @property
    def flow_definition(self) -> dict:
        return chain_tools(self.tools, comment=self.flow_comment)


__all__ = ["ToolChain"]
