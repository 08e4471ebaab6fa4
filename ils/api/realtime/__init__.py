"""The WebSocket gateway: auth frame, resume with ``since``, ordered fan-out, ping/pong."""
