"""The report as a CSV file: counts only, no patient data."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from outreach.staff.report.figures import NO_SHOW_BASELINE, Rate, Report


def to_csv(report: Report) -> str:
    """The report as long-format CSV, one figure a row: counts only, no patient data."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period_start", "period_end", "metric", "count", "total", "value", "unit"])
    whole = (report.range.start.isoformat(), report.range.end.isoformat())

    def rate(period: tuple[str, str], metric: str, r: Rate) -> None:
        value = "" if r.percent is None else f"{r.percent:g}"
        writer.writerow([*period, metric, r.count, r.total, value, "%"])

    def minutes(metric: str, value: timedelta | None, count: int) -> None:
        shown = "" if value is None else f"{value.total_seconds() / 60:.1f}"
        writer.writerow([*whole, metric, count, "", shown, "min"])

    def counts(prefix: str, values: dict[str, int]) -> None:
        for key, n in values.items():
            writer.writerow([*whole, f"{prefix}_{key}", n, "", "", ""])

    rate(whole, "no_show_rate", report.no_shows)
    rate(whole, "no_show_rate_confirmed", report.no_shows_confirmed)
    rate(whole, "no_show_rate_unconfirmed", report.no_shows_unconfirmed)
    for who, r in report.late_cancellations.items():
        rate(whole, f"late_cancellations_{who}", r)
    rate(whole, "slots_filled_from_waitlist", report.waitlist_fills)
    rate(whole, "confirmation_rate", report.confirmation)
    rate(whole, "unconfirmed_sessions", report.unconfirmed)
    writer.writerow(
        [*whole, "unconfirmed_sessions_never_reminded", report.unconfirmed_unreminded, "", "", ""]
    )
    writer.writerow([*whole, "no_show_baseline", "", "", NO_SHOW_BASELINE, "%"])
    rate(whole, "reply_rate", report.replies)
    for kind, r in report.replies_by_kind.items():
        rate(whole, f"reply_rate_{kind}", r)
    minutes("median_time_to_reply", report.median_reply, report.replies.count)
    rate(whole, "foot_check_adherence", report.foot_checks)
    rate(whole, "exercise_completion", report.exercise)
    writer.writerow([*whole, "exercise_skipped", report.exercise_skipped, "", "", ""])
    counts("escalations", report.escalations)
    rate(whole, "escalations_without_action", report.without_action)
    acted = report.without_action.total - report.without_action.count
    minutes("median_time_to_first_action", report.median_first_action, acted)
    minutes("median_time_to_first_staff_reply", report.median_staff_reply, report.staff_replies)
    counts("opt_outs", report.opt_outs)
    counts("undeliverable", report.undeliverable)
    for p in report.periods:
        period = (p.start.isoformat(), p.end.isoformat())
        rate(period, "reply_rate", p.replies)
        rate(period, "foot_check_adherence", p.foot_checks)
        writer.writerow([*period, "escalations", p.escalations, "", "", ""])
    return out.getvalue()
