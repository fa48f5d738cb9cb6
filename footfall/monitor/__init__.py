"""``footfall monitor``: a terminal live view of one session (docs/monitor.md).

``state`` folds the session's MQTT messages into a :class:`~footfall.monitor.state.MonitorState`
(pure, no I/O, time injected); ``view`` renders it with rich; ``control`` is the command the
monitor publishes for the processor; ``app`` wires them to the broker and the keyboard.
"""
