"""The job spec as JSON, every password, secret and token masked (docs/reference/dtle.md §7)."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dtle_tui.model.jobspec import without_token_ids
from dtle_tui.text.secrets import mask_secrets
from dtle_tui.text.textsafe import safe_text


def masked_spec_text(spec: Any) -> str:
    return json.dumps(mask_secrets(without_token_ids(spec)), indent=2, sort_keys=False, ensure_ascii=False)


class SpecScreen(ModalScreen):
    BINDINGS = [
        Binding("escape,q,s", "dismiss", "Close", id="dtle.spec.close"),
    ]

    def __init__(self, job_id: str, spec: Any) -> None:
        super().__init__()
        self.job_id = job_id
        self.spec = spec

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="spec-box"):
            yield Static(Text(f"Spec of {safe_text(self.job_id)} (secrets masked) — escape closes", style="bold"))
            # Text(), not markup: a spec is wire data and may hold `[b]` or escape codes.
            lines = [safe_text(line) for line in masked_spec_text(self.spec).splitlines()]
            yield Static(Text("\n".join(lines)), id="spec-json")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss()
