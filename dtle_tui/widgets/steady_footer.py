"""The footer, rebuilt only when the keys it shows change.

Textual's Footer throws away and rebuilds every key widget on each bindings signal: each focus move, each
`refresh_bindings` (a row highlighted, a toast shown or gone, a resize). Most of those signals leave the
keys as they were, and each rebuild mounts a dozen widgets and restyles them: measured, the footer's
rebuilds were the largest single cost of opening a screen. This one compares what it would show with
what it shows and rebuilds only on a difference.
"""

from __future__ import annotations

from typing import Any

from textual.css.query import NoMatches
from textual.widgets import Footer


class SteadyFooter(Footer):
    _shown: Any = None

    def _what_it_would_show(self) -> Any:
        """Everything Footer.compose reads, as one comparable value."""
        keys = tuple(
            (binding.key, self.app.get_key_display(binding), binding.description, binding.action,
             binding.group, enabled, tooltip)
            for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show
        )
        return (keys, self.show_command_palette, self.compact, self.app.ENABLE_COMMAND_PALETTE)

    async def recompose(self) -> None:
        if not self._bindings_ready or not self.is_attached:
            await super().recompose()
            return
        try:
            shown = self._what_it_would_show()
        except NoMatches:  # the screen is being taken down (its widgets gone): Footer's own checks decide
            await super().recompose()
            return
        if shown == self._shown:
            return
        self._shown = shown
        await super().recompose()
