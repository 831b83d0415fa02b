"""axe-core in a Playwright page: no serious or critical accessibility violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[1] / "eta" / "static" / "vendor" / "axe-core" / "axe.min.js"

SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
}"""


def no_serious_violations(page: Any) -> None:
    """Run the vendored axe-core on the page (its context must bypass the CSP to inject it)."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(SERIOUS)
    assert violations == [], (page.url, violations)
