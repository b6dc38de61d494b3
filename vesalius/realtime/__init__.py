"""The push layer: pub/sub between processes, Server-Sent Events, WebSockets, live pages."""
