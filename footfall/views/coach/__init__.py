"""``footfall coach``: the live retraining app — a runner view in front of the treadmill, a
therapist view on a tablet, sound from the browser (docs/coach.md).

``state`` (what the server knows per session, pure), ``hub`` (pages and what they follow),
``bridge`` (the one MQTT connection), ``app`` (Starlette routes and SSE), ``server`` (uvicorn);
the pages are plain HTML/CSS/JS in ``static/``.
"""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
