"""How the load generator talks to Muster: HTTP commands, WebSocket boards (here or in
processes of their own), the open-loop pacer, and the alert sink with its log."""
