"""Turn recordings from elsewhere (and synthetic runs) into session files that replay can play.

Each importer produces :class:`~footfall.recordings.tracks.DeviceTrack` objects —
one device's messages as it would have published them — and
:func:`~footfall.recordings.tracks.write_session` writes them as one session file:

- :mod:`.synthetic`: synthetic runner sensors (with their ground truth attached);
- :mod:`.fit`: a FIT activity → an RSC foot-pod stream (running parts only);
- :mod:`.csv_accel`: ``time_s,ax_g,ay_g,az_g`` CSV → an IMU stream;
- :mod:`.alcantara`: the Alcantara 2022 sacral accelerometer dataset → a 500 Hz sacrum stream.
"""
