"""Small helpers for htmx answers."""
from __future__ import annotations

import json


def announce(text: str) -> dict[str, str]:
    """Headers that make the page say `text` to a screen reader once the answer is in (app.js:
    the "announce" event fills base.html's live region, [data-announce]), for what the focus
    does not say itself: "已核准 王小明 …" on the dashboard, "找到 3 張時數條" as a search narrows
    a list. JSON with \\u escapes: a header carries no Chinese."""
    return {"HX-Trigger-After-Settle": json.dumps({"announce": str(text)})}
