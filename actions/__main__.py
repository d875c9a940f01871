"""Runs the action server (`rasa_sdk`'s own command line, same arguments) and closes the
case store when it stops.

The store's SQLite connection lives on a thread of its own. Left open, it kept the
process alive after SIGTERM until it was killed: a stop took the full 15 s grace period
and a kill, with writes possibly in flight. Here a listener closes the store after the
server stops, so SIGTERM ends the process in about a second.

usage: .venv-rasa/bin/python -m actions --actions actions --port 5055
"""

from __future__ import annotations

import pluggy
import rasa_sdk.__main__
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic

from actions import resources

hookimpl = pluggy.HookimplMarker("rasa_sdk")


class CloseOnStop:
    """A `rasa_sdk` plugin: each worker closes its resources when its server stops."""

    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        async def close(_app: Sanic, _loop: object) -> None:
            await resources.close()

        app.register_listener(close, "after_server_stop")


def main() -> None:
    plugin_manager().register(CloseOnStop())
    rasa_sdk.__main__.main()


if __name__ == "__main__":
    main()
