"""The committed lifecycle document is the one generated from the machine (run `ece referral diagram`)."""

from __future__ import annotations

from referral import diagram, machine
from tests.conftest import ROOT


def test_the_committed_lifecycle_document_equals_a_fresh_generation():
    committed = (ROOT / "docs" / "referral-lifecycle.md").read_text(encoding="utf-8")
    assert committed == diagram.document(), "run: ece referral diagram"


def test_the_diagram_draws_every_transition():
    drawn = diagram.mermaid()
    for step in machine.TRANSITIONS:
        assert f"${step.event}" in drawn
