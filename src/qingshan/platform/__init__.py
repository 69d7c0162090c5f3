"""The one platform process of ``qingshan serve`` (layer 9, beside the command line; docs/deployment.md).

* :mod:`.lock` — the workspace's lock and local token: one platform per workspace, found by other commands;
* :mod:`.writer` — the single thread that writes the measurement store;
* :mod:`.importing` — the import kinds and the one function that runs an import (command line and jobs);
* :mod:`.jobs` — the job queue and its records (uploads spooled, jobs re-run after a crash);
* :mod:`.scheduler` — hourly and daily tasks and their registry;
* :mod:`.handoff` — how ``qingshan import`` hands its files to the running platform;
* :mod:`.service` — the process: console, HJ 212 receiver, queue and scheduler in one event loop.
"""
