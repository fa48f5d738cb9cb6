"""``footfall monitor``: a terminal live view of one session (docs/monitor.md).

``state`` folds the session's MQTT messages into a
:class:`~footfall.views.monitor.state.MonitorState` (pure, no I/O, time injected); ``view``
renders it with rich; ``app`` wires them to the broker and the keyboard, and publishes the
therapist's commands on the control stream.
"""
