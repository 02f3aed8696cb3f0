"""The workspace's statistics and mistake-tally pages of a problem set (on grader.instructor.views.bp; the
numbers are grader.service's, computed from the stored submissions on every request):

    GET  /instructor/courses/<id>/statistics                 the course's problem sets, a line of numbers each
    GET  /instructor/assignments/<id>/statistics             the set's and each exercise's statistics, plots
    GET  /instructor/assignments/<id>/statistics/csv         the same numbers as a CSV file
    GET  /instructor/assignments/<id>/mistakes               per exercise and asked quantity: the named mistakes
                                                             (chart and table), the wrong answers none explains
    GET  /instructor/assignments/<id>/mistakes/<item_id>     one row's students and their submissions
         ?quantity=<key>&mistake=<code>

Course staff (instructors, TAs, administrators) only; anyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, request
from flask_login import current_user
from markupsafe import Markup

from grader.errors import ServiceError
from grader.instructor.charts import Bar, column_chart, row_chart
from grader.instructor.views import bp
from grader.models import Assignment, Course, db
from grader.service import class_data as results
from grader.service import statistics as st
from grader.service.gradebook import course_assignments
from grader.service.manual_scores import require_grader
from grader.web.answers import label_plain

ASSIGNMENT = "/assignments/<int(max=2147483647):assignment_id>"


def _staff_assignment(assignment_id: int) -> Assignment:
    try:
        return results.staff_assignment(current_user, assignment_id)
    except ServiceError:
        abort(404)  # not your course: no hint that it exists


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _histogram(prefix: str, title: str, d: st.Descriptives) -> Markup:
    bars = [Bar(f"{10 * i}–{10 * i + 10}%", count, str(count)) for i, count in enumerate(d.histogram)]
    return Markup(column_chart(prefix, title, bars, axis="students per score band (100% in the last)"))


def _by_attempt(prefix: str, s: st.ItemStatistics) -> Markup:
    bars = [Bar(f"#{a.number}", a.mean, f"{a.mean:.0%}") for a in s.by_attempt]
    return Markup(column_chart(prefix, f"Mean score by attempt: {s.item.title}", bars,
                               axis="mean score of the students who made that attempt", most=1.0))


def _quintiles(prefix: str, s: st.ItemStatistics) -> Markup:
    bars = [Bar(f.label.split()[0], f.mean.value or 0.0, percent(f.mean.value)) for f in s.quintiles]
    return Markup(column_chart(prefix, f"Mean score per fifth of the class: {s.item.title}", bars,
                               axis="fifths of the class, ranked by the set total", most=1.0))


@bp.get("/courses/<int(max=2147483647):course_id>/statistics")
def course_statistics(course_id: int) -> tuple[str, int]:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    try:
        require_grader(current_user, course)
    except ServiceError:
        abort(404)  # not your course: no hint that it exists
    rows = [(a, results.assignment_statistics(a)) for a in course_assignments(course)]
    return render_template("instructor/statistics/course.html", course=course, rows=rows, percent=percent), 200


@bp.get(ASSIGNMENT + "/statistics")
def statistics(assignment_id: int) -> tuple[str, int]:
    assignment = _staff_assignment(assignment_id)
    stats = results.assignment_statistics(assignment)
    charts: dict[str, Any] = {"set": _histogram("hist-set", f"Set totals: {assignment.title}", stats.totals)}
    for s in stats.items:
        charts[f"hist-{s.item.id}"] = _histogram(f"hist-{s.item.id}", f"Scores: {s.item.title}", s.scores)
        charts[f"attempt-{s.item.id}"] = _by_attempt(f"attempt-{s.item.id}", s)
        if s.quintiles:
            charts[f"fifths-{s.item.id}"] = _quintiles(f"fifths-{s.item.id}", s)
    return render_template("instructor/statistics/page.html", assignment=assignment, course=assignment.course,
                           stats=stats, charts=charts, percent=percent, duration=duration,
                           decimal=lambda v: f"{v:.2f}", plain=lambda v: f"{v:g}",
                           dubious=st.DUBIOUS_BELOW), 200


@bp.get(ASSIGNMENT + "/statistics/csv")
def statistics_csv(assignment_id: int) -> Response:
    assignment = _staff_assignment(assignment_id)
    return Response(results.statistics_csv(results.assignment_statistics(assignment)), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="{results.statistics_filename(assignment)}"'})


def _tally_chart(prefix: str, tally: Any) -> Markup:
    bars = [Bar(f"{label_plain(row.quantity.label)}: {row.mistake}", tally.first_share(row),
                f"{len(row.first_students)} ({tally.first_share(row):.0%})") for row in tally.rows]
    return Markup(row_chart(prefix, f"Named mistakes on first attempts: {tally.item.title}", bars,
                            axis="share of the students' first attempts", most=1.0))


@bp.get(ASSIGNMENT + "/mistakes")
def mistakes(assignment_id: int) -> tuple[str, int]:
    assignment = _staff_assignment(assignment_id)
    data = results.class_results(assignment)
    tallies = results.mistake_tallies(assignment, data)
    charts = {t.item.id: _tally_chart(f"tally-{t.item.id}", t) for t in tallies if t.rows}
    return render_template("instructor/statistics/mistakes.html", assignment=assignment, course=assignment.course,
                           tallies=tallies, charts=charts, students=data.students, percent=percent,
                           label_plain=label_plain), 200


@bp.get(ASSIGNMENT + "/mistakes/<int(max=2147483647):item_id>")
def mistake_students(assignment_id: int, item_id: int) -> tuple[str, int]:
    assignment = _staff_assignment(assignment_id)
    quantity = request.args.get("quantity", "")[:200]
    mistake = request.args.get("mistake", "")[:100]
    try:
        item, found = results.mistake_students(assignment, item_id, quantity, mistake)
    except ServiceError:
        abort(404)
    labels = dict(enumerate(results.ask_labels(item)))
    label = labels.get(int(quantity), quantity) if quantity.isascii() and quantity.isdigit() else quantity
    return render_template("instructor/statistics/students.html", assignment=assignment, course=assignment.course,
                           item=item, quantity=label_plain(label), mistake=mistake, found=found), 200

