"""A proposal's chart as a PNG (matplotlib, headless), or None so the caller falls back to a table."""

from __future__ import annotations

import io
from typing import Any


def render_png(chart: dict[str, Any]) -> bytes | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:
        return None
    try:
        figure, axes = plt.subplots(figsize=(7, 3.5), dpi=100)
        labels = list(chart["x"])
        positions = list(range(len(labels)))
        for name, points in chart["series"].items():
            axes.plot(positions, points, marker="o", label=str(name))
        axes.set_xticks(positions, [str(x) for x in labels], rotation=30, ha="right")
        axes.set_title(str(chart.get("title", "")))
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
        return buffer.getvalue()
    except (KeyError, TypeError, ValueError):
        return None
