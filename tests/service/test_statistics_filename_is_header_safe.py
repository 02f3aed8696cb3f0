"""The statistics CSV's file name goes into a Content-Disposition header: a course code may be any text without
spaces ("课程", "a;b", 'x"y'), but a header is Latin-1 and a quoted string ends at a quote, so the name keeps
only characters safe there (as the gradebook CSV's does). No database: the name is made from the objects."""

from __future__ import annotations

import re

import pytest

from grader.models import Assignment, Course
from grader.service.class_data import statistics_filename


@pytest.mark.parametrize("code", ["课程101", 'bp"101', "a;b\\c", "Ü\r\n"])
def test_the_statistics_file_name_is_safe_in_a_header_whatever_the_course_code(code):
    name = statistics_filename(Assignment(id=7, course=Course(code=code, title="t")))
    assert re.fullmatch(r"statistics-[A-Za-z0-9._-]+-set-7\.csv", name), name
    f'attachment; filename="{name}"'.encode("latin-1")  # what a WSGI server sends, or fails to


def test_a_plain_course_code_is_kept_in_the_file_name():
    assert statistics_filename(Assignment(id=3, course=Course(code="bp-101.a", title="t"))) == \
        "statistics-bp-101.a-set-3.csv"
