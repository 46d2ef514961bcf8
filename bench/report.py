"""The results as Markdown tables (printed and written to latest.md), rendered from the JSON-ready dict alone."""

from __future__ import annotations

from typing import Any

# Above this multiple of its floor (the target of issue 15), a ratio is shown in bold.
FLAG_RATIO = 1.25


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def times(value: float | None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.2f}x"
    return f"**{text}**" if value > FLAG_RATIO else text


def machine_section(results: dict[str, Any]) -> str:
    machine = results["machine"]
    sections = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in results["section_seconds"].items())
    return "\n".join(
        [
            f"# Broker benchmark, {machine['date']}",
            "",
            f"- machine: {machine['nproc']} CPUs, {machine['cpu_model']}; {machine['platform']}",
            f"- python {machine['python']}, moto {machine['moto']}, boto3 {machine['boto3']}",
            f"- load average (1, 5, 15 min) at start {machine['load_average_at_start']}, "
            f"at end {machine.get('load_average_at_end')}: other work on the machine skews every figure",
            f"- whole run {results['total_seconds']:.0f} s ({sections})",
            "- AWS calls counted by botocore's before-send/after-call hooks on the broker's botocore session, "
            "and by wrapping broker.aws.probe.KeyProbe.refusal for the probe it signs itself",
            "- the broker is served in this process by the tests' threaded werkzeug server (log level WARNING, "
            "garbage from set-up frozen out of collections); moto runs in its own process with IAM enforcement on; "
            "every broker figure is a client-side HTTP round trip on 127.0.0.1",
        ]
    )


def operations_section(results: dict[str, Any]) -> str:
    operations = results["operations"]
    rounds = operations[0]["broker"]["n"]
    rows = [
        [
            op["operation"],
            op["broker"]["median_ms"],
            op["broker"]["p90_ms"],
            op["broker_first_ms"],
            op["floor"]["median_ms"],
            op["floor"]["p90_ms"],
            times(op["ratio_median"]),
            times(op["ratio_p90"]),
            f"{op['over_floor_ms']:+.1f}",
            f"{calls_text(op['broker_call_counts'])} / {len(op['floor_calls'])}",
        ]
        for op in operations
    ]
    header = ["operation", "broker p50 ms", "broker p90 ms", "first call ms", "floor p50 ms", "floor p90 ms"]
    header += ["x floor p50", "x floor p90", "over floor ms", "AWS calls broker / floor"]
    return "\n".join(
        [
            f"## Each operation, one at a time ({rounds} rounds after a first one, IAM enforcement on)",
            "",
            "Floor: the same AWS calls, safety checks included, made straight with boto3, one after another, "
            "signed by the broker's own identity on clients made once (for the catalog: the same bytes from a bare "
            "WSGI app on the same server type). `first call` is round 0, left out of the percentiles.",
            "",
            table(header, rows),
        ]
    )


def calls_text(counts: list[int]) -> str:
    return "/".join(str(count) for count in counts) if len(counts) > 1 else str(counts[0])


def calls_section(results: dict[str, Any]) -> str:
    rows = [
        [op["operation"], ", ".join(op["broker_calls"]) or "none", ", ".join(op["floor_calls"]) or "none"]
        for op in results["operations"]
    ]
    return "\n".join(
        [
            "## AWS calls per operation (counted with botocore event hooks)",
            "",
            "In the order sent (calls the broker makes at once may swap). `!Code`: AWS answered with that error, "
            "as expected; `[new key]`: signed with the binding's new key (the probe).",
            "",
            table(["operation", "broker", "floor"], rows),
        ]
    )


def concurrency_section(results: dict[str, Any]) -> str:
    fields = ("operation", "count", "side", "mode", "wall_s", "per_second")
    rows = [
        [*(burst[field] for field in fields), burst["latency"]["median_ms"], burst["latency"]["p90_ms"]]
        for burst in sorted(results["concurrency"], key=lambda b: (b["operation"], b["side"], b["mode"]))
    ]
    header = ["operation", "count", "side", "mode", "wall s", "per s", "p50 ms", "p90 ms"]
    return "\n".join(
        [
            "## At once against one by one",
            "",
            "Binds all on one instance; each request on its own HTTP client. The floor runs its sequences from "
            "as many threads, so what moto absorbs on this machine shows apart from what the broker adds.",
            "",
            table(header, rows),
        ]
    )


def spread_text(spread: dict[str, float]) -> str:
    return f"{spread['median']} ({spread['min']}-{spread['max']})"


def in_process_binds(results: dict[str, Any]) -> str:
    """The in-process section's 50 binds, for comparison with the same under gunicorn."""
    bursts = {b["mode"]: b for b in results["concurrency"] if b["operation"] == "bind" and b["side"] == "broker"}
    at_once, one_by_one = bursts["at once"]["wall_s"], bursts["one by one"]["wall_s"]
    return f"in-process (above): {at_once} s at once, {one_by_one} s one by one ({at_once / one_by_one:.2f})"


def served_section(results: dict[str, Any]) -> str:
    run = results["served"]
    rows = [
        [
            served["app"],
            spread_text(served["cpu_ms_per_request"]),
            spread_text(served["requests_per_s"]),
            served["latency"]["median_ms"],
            served["latency"]["p99_ms"],
            served["worker_rss_mib_max"],
            served["master_rss_mib_max"],
            spread_text(served["startup_s"]),
        ]
        for served in run["catalog"]
    ]
    header = ["app", "worker CPU ms/request", "requests/s", "p50 ms", "p99 ms", "RSS/worker MiB", "master MiB"]
    header.append("start to first answer s")
    split = "; ".join(f"{s['app']}: " + ", ".join(str(r["worker_cpu_s"]) for r in s["rounds"]) for s in run["catalog"])
    inside = run["in_process"]
    in_process_rows = [
        ["the broker's whole WSGI call", inside["broker_wsgi_us"]],
        ["its own work alone (before- and after-request hooks)", inside["broker_hooks_us"]],
        ["the bare openbrokerapi app's whole WSGI call", inside["bare_wsgi_us"]],
    ]
    by_mode = {b["mode"]: b for b in run["binds"]["bursts"]}
    at_once, one_by_one = by_mode["at once"], by_mode["one by one"]
    bind_row = [
        at_once["count"],
        at_once["wall_s"],
        one_by_one["wall_s"],
        f"{at_once['wall_s'] / one_by_one['wall_s']:.2f}",
        at_once["latency"]["p90_ms"],
        max(run["binds"]["worker_rss_mib"]),
    ]
    return "\n".join(
        [
            "## The broker and a bare openbrokerapi app under gunicorn (the Procfile's gevent workers)",
            "",
            "Both run the Procfile's way on Cloud Foundry (VCAP_APPLICATION and AWS set; the broker checks its key "
            "with STS in each worker), with the same gunicorn settings (bench/bare_gunicorn_config.py copies the "
            "broker's), one after the other in each round on a fresh server. The bare app is openbrokerapi's "
            "blueprint with basic auth serving the same catalog (bench/bare_app.py), encoding it per request as "
            "openbrokerapi does. Figures: median (min-max) over "
            f"{run['rounds']} rounds of {run['seconds_per_round']:g} s; load from {run['client_processes']} "
            f"processes x {run['client_threads']} threads, each connection replaced every "
            f"{run['requests_per_connection']} requests (bench/gunicorn_load.py says why). Client and servers "
            "share the cores, so requests/s depends on the client too; CPU per request hardly does. RSS after load.",
            "",
            table(header, rows),
            "",
            f"Worker CPU seconds per round (the spread over workers): {split}.",
            "",
            f"In-process, no server (one process set up as a worker, {inside['requests']} requests, "
            f"catalog {inside['catalog_bytes']} bytes), CPU microseconds per GET /v2/catalog:",
            "",
            table(["", "us"], in_process_rows),
            "",
            "Binds over HTTP through gunicorn's two workers, from the bench's process (each request on its own "
            f"client, all on one instance); {in_process_binds(results)}:",
            "",
            table(
                ["binds", "at once s", "one by one s", "ratio", "p90 at once ms", "RSS/worker after MiB"],
                [bind_row],
            ),
        ]
    )


def render_markdown(results: dict[str, Any]) -> str:
    sections = (machine_section, operations_section, calls_section, concurrency_section, served_section)
    return "\n\n".join(section(results) for section in sections) + "\n"
