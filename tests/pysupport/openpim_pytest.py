"""pytest plugin: a failing test shows what the running openpim servers logged while it ran.

A suite's conftest.py loads it with `pytest_plugins = ["openpim_pytest"]` (its pytest.ini puts
tests/pysupport on sys.path with `pythonpath = ../pysupport`); servers started with
openpim_server (e.g. through `openpim_server.serving()`) are found in `OpenPimServer.running`.
"""

from __future__ import annotations

import pytest
from openpim_server import OpenPimServer

# What a failing test shows of the server's output (its own part of it): enough for a panic or a
# rejected request, short enough to read.
LOG_TAIL_LINES = 200

_log_marks = pytest.StashKey[dict]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Where each running server's log stands before this test: a failure shows only what follows.
    # A server started by this test's own set-up (the first test) has no mark: its whole log counts.
    item.stash[_log_marks] = {id(srv): srv.log_size() for srv in OpenPimServer.running}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed:
        marks = item.stash.get(_log_marks, {})
        for srv in OpenPimServer.running:
            text = srv.log_since(marks.get(id(srv), 0))
            if text.strip():
                report.sections.append((f"openpim serve log ({srv.origin}, {report.when})", _tail(text)))
    return report


def _tail(text: str) -> str:
    lines = text.splitlines()
    if len(lines) <= LOG_TAIL_LINES:
        return text
    return f"[... {len(lines) - LOG_TAIL_LINES} earlier lines ...]\n" + "\n".join(lines[-LOG_TAIL_LINES:])
