"""Recorded data: session files (MCAP, :mod:`.session`) and plain accelerometer CSV files
(:mod:`.csv`) — read as what a sensor would have sent, so analysis takes the live path."""
