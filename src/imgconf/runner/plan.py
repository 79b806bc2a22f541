"""`imgconf run --dry-run`: what a run would send, to where, under which limits; nothing is sent.

The suites are collected (not run) against stand-in targets whose transport refuses to send, so the
plan lists exactly the tests a real run would execute, and which would be skipped and why.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any

import pytest
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from imgconf import vendors as registry
from imgconf.errors import CredentialsMissing
from imgconf.runner.run import keyword_args, pytest_args, quiet_pytest
from imgconf.targets.credentials import live_credentials, load_config, vendor_section
from imgconf.targets.remote import DEFAULT_LIVE_RETRIES
from imgconf.testing.options import SuiteOptions


class _Collector:
    imgconf_runner = True

    def __init__(self, options: SuiteOptions) -> None:
        self.options = options
        self.items: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = [item.nodeid for item in session.items]

    def finished(self, outcome: Any, state: Any) -> None:
        pass


def collect(options: SuiteOptions) -> list[str]:
    plugin = _Collector(options)
    args = [*pytest_args(options.vendors), "--collect-only", "-q", *keyword_args(options)]
    with quiet_pytest():
        pytest.main(args, plugins=[plugin])
    return plugin.items


def _limits(vendor: registry.Vendor, options: SuiteOptions) -> dict[str, Any]:
    remote = options.target.metered
    default = vendor.live_budget if remote else None
    if options.target.operator_credentials and options.target.thorough:
        default = options.profile.thorough_budget
    budget = options.budget if options.budget is not None else default
    return {
        "budget": budget,
        "rate limits": [f"{rate.requests}/{rate.seconds:g}s {','.join(rate.methods)}" for rate in vendor.rate_limits]
        if remote
        else [],
        "429 retries": DEFAULT_LIVE_RETRIES if remote else 0,
        "mutating operations": ("run" if options.allow_mutations or not remote else "skipped")
        if vendor.mutating_operations
        else "none",
        "callback address": options.target.callback or ("this machine" if options.target.reaches_loopback else "none"),
    }


def _missing_credentials(vendor: registry.Vendor, options: SuiteOptions) -> str | None:
    """Why the run would refuse this vendor's credentials (the run's own check), or None when they are there."""
    try:
        found = live_credentials(vendor, load_config(options.config_path))
    except CredentialsMissing as exc:
        return exc.message
    if not found and vendor.credentials:  # every one optional (Huawei: keys or an IAM user), and none given
        return f"{vendor.id}: none of {', '.join(c.env for c in vendor.credentials)} is set"
    return None


def _set_credentials(vendor: registry.Vendor, options: SuiteOptions) -> list[str]:
    section = vendor_section(load_config(options.config_path), vendor)
    return [
        f"${credential.env}"
        for credential in vendor.credentials
        if os.environ.get(credential.env) or section.get(credential.name)
    ]


def show(options: SuiteOptions, console: Console, verbose: bool = False) -> bool:
    """Print the plan: a summary per vendor, and with `verbose` every operation and test.

    Returns False when a credential the run needs is missing (the caller exits 2, as the run would).
    """
    selected = registry.select(options.vendors)
    for vendor in selected:
        _ = vendor.specs
    nodeids = collect(options)
    by_vendor: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for nodeid in nodeids:
        parts = nodeid.split("/", 1)
        if len(parts) == 2:
            kind = parts[1].split("::")[0].removeprefix("test_").removesuffix(".py")
            by_vendor[parts[0]][kind].append(nodeid.split("::", 1)[-1])
    console.print(
        f"[bold]dry run[/] · target {options.target.describe()} · profile {options.profile.name} "
        f"({options.profile.max_examples} generated cases per operation) · seed {options.seed} · nothing is sent"
    )
    complete = True
    for vendor in selected:
        operations = [operation for spec in vendor.specs for operation in spec.operations]
        tests = by_vendor.get(vendor.id, {})
        contract = len(tests.get("contract", []))
        others = sum(len(names) for kind, names in tests.items() if kind != "contract")
        planned = contract * options.profile.max_examples + others
        limits = _limits(vendor, options)
        budget = limits["budget"]
        requests_text = f"about {planned}" + (
            f", cut short by the budget of {budget}" if budget is not None and budget < planned else ""
        )
        console.print(f"\n[bold]{vendor.title}[/] ({vendor.id})")
        for spec_file, url in options.target.planned_urls(vendor).items():
            console.print(f"  {spec_file}: {url}")
        console.print(
            f"  operations: {len(operations)}"
            + (
                f" ({len(vendor.mutating_operations)} mutating: {limits['mutating operations']})"
                if vendor.mutating_operations
                else ""
            )
        )
        console.print(
            "  tests: " + (", ".join(f"{kind} {len(names)}" for kind, names in sorted(tests.items())) or "none")
        )
        console.print(f"  requests planned: {requests_text}")
        console.print(f"  budget: {budget if budget is not None else 'none'}")
        if options.target.operator_credentials:
            missing = _missing_credentials(vendor, options)
            if missing:
                complete = False
                console.print(f"  [red]missing credentials[/]: {escape(missing)}")
            else:
                console.print("  credentials: " + ", ".join(_set_credentials(vendor, options)) + " set")
        if not verbose:
            continue
        for name, value in limits.items():
            if name not in ("budget", "mutating operations"):
                console.print(f"  {name}: {value if value not in (None, []) else 'none'}")
        table = Table(show_edge=False, header_style="bold")
        table.add_column("operation")
        table.add_column("deprecated")
        table.add_column("documented request examples sent")
        for spec in vendor.specs:
            for operation in spec.operations:
                examples = [
                    json.dumps(example.value)[:80]
                    for example in spec.examples()
                    if example.kind == "request" and example.operation == operation.label
                ]
                mutating = operation.label in vendor.mutating_operations
                label = operation.label + (" (mutating)" if mutating else "")
                table.add_row(label, "yes" if operation.deprecated else "", "\n".join(examples) or "-")
        console.print(table)
        for kind, names in sorted(tests.items()):
            for name in names:
                console.print(f"    {kind}: {name}", overflow="fold", markup=False)
    if not verbose:
        console.print("\n-v lists every operation and test")
    return complete
