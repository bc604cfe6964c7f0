"""`remora-review server status | stop | start [--foreground]`: manage the warm embedding server."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("server", help="the warm embedding server shared by hook runs")
    actions = parser.add_subparsers(dest="server_command", required=True)
    status = actions.add_parser("status", help="show the running server (exit 1 when none runs)")
    status.set_defaults(handler=run)
    stop = actions.add_parser("stop", help="stop the running server")
    stop.set_defaults(handler=run)
    start = actions.add_parser("start", help="start the server unless one runs")
    start.add_argument("--foreground", action="store_true",
                       help="serve from this process until Ctrl-C (for debugging)")
    start.add_argument("--idle-timeout", type=float, default=None,
                       help="seconds without a request before it exits (default: from config)")
    start.set_defaults(handler=run)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m {secs}s" if hours else f"{minutes}m {secs}s"


def format_status(status: Mapping[str, Any]) -> str:
    models = ", ".join(
        f"{m['model']} ({m.get('backend') or 'sentence-transformers'}, {m['device']}, "
        f"{'/'.join(map(str, m['dimensions']))} dims)"
        for m in status["models"]
    ) or "none loaded yet"
    code = status.get("generator")
    code_model = "none loaded" if not code else (
        f"{code['model']} ({code['backend']}, adapters: {', '.join(code['adapters']) or 'none'}; "
        f"loaded {code['loads']} time{'s' if code['loads'] != 1 else ''})")
    return "\n".join([
        f"embedding server: running (pid {status['pid']})",
        f"  socket:       {status['socket']}",
        f"  uptime:       {_duration(status['uptime_s'])}",
        f"  requests:     {status['requests']} ({status.get('reviews', 0)} reviews)",
        f"  models:       {models}",
        f"  code model:   {code_model}",
        f"  peak RSS:     {status['peak_rss_mb']:.0f} MB",
        f"  idle timeout: {status['idle_timeout']:g} s",
    ])


def run(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    from remora_review import server_client as client
    from remora_review.config import load_settings
    from remora_review.errors import UserError

    settings = load_settings(args.config, Path.cwd()).embedding
    sock = client.socket_path(environ)  # UnsafeRuntimeDir is a UserError: one line, exit 2
    if args.server_command == "status":
        status = client.server_status(sock)
        if status is None:
            print(f"embedding server: not running (socket {sock})")
            return 1
        print(format_status(status))
        return 0
    if args.server_command == "stop":
        pid = client.stop_server(sock)
        print("embedding server: not running" if pid is None else f"embedding server: stopped (pid {pid})")
        return 0
    if args.idle_timeout is not None:
        settings = settings.model_copy(update={"idle_timeout": args.idle_timeout})
    running = client.server_status(sock)
    if running is not None:
        print(f"embedding server: already running (pid {running['pid']}) on {sock}")
        return 0
    if args.foreground:
        from remora_review.server import serve

        print(f"embedding server: serving on {sock} until Ctrl-C", file=sys.stderr)
        serve(sock, settings.idle_timeout)
        return 0
    try:
        client.start_server(settings, environ)
    except (client.ServerUnavailable, client.ServerError, TimeoutError, OSError) as e:
        raise UserError(f"could not start the embedding server: {e}") from None
    status = client.server_status(sock)
    print(f"embedding server: started (pid {status['pid'] if status else '?'}) on {sock}")
    return 0
