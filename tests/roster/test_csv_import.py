"""A class list uploaded as CSV: missing accounts are created with a one-time link each, existing ones are
enrolled, members already there are left alone, and every bad row is reported with its line number while the
other rows go in. Only a file with no usable header, or not UTF-8, is refused as a whole (a clear 422)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from grader import roster
from grader.errors import ServiceError
from grader.models import Membership, User, db
from tests.web.conftest import login


def role_of(course, username: str) -> str | None:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        return None
    return db.session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                           Membership.course_id == course.id))


def test_a_mixed_file_creates_enrolls_skips_and_reports_each_bad_row(app, roster_world):
    course = roster_world.course
    text = ("username,name,email,role\n"
            "new1,New One,new1@example.org,student\n"       # line 2: created
            "loner,Lone Ranger,,ta\n"                      # line 3: existed, enrolled as TA
            "alice,Alice,,instructor\n"                    # line 4: already a member: role left alone
            "bad name,Spaces,,student\n"                   # line 5: bad username
            "new2,New Two,not-an-email,student\n"          # line 6: bad email
            "new3,New Three,,professor\n"                  # line 7: bad role
            "new1,Again,,student\n"                        # line 8: duplicate
            "\n"                                           # line 9: blank, ignored
            "new4,\"Four, New\",,instructor\n"             # line 10: created, a quoted comma
            "new5,Five,x@example.org,student,extra\n")     # line 11: too many values
    report = roster.import_csv(course, text)
    assert [u.username for u, _ in report.created] == ["new1", "new4"]
    assert [u.username for u in report.enrolled] == ["loner"]
    assert [u.username for u in report.already] == ["alice"]
    assert [line for line, _ in report.errors] == [5, 6, 7, 8, 11]
    messages = dict(report.errors)
    assert "username" in messages[5] and "not-an-email" in messages[6] and "professor" in messages[7]
    assert "twice" in messages[8] and "5 values for 4 columns" in messages[11]
    assert role_of(course, "new1") == "student" and role_of(course, "loner") == "ta"
    assert role_of(course, "alice") == "student" and role_of(course, "new4") == "instructor"
    assert db.session.scalar(select(User.name).where(User.username == "new4")) == "Four, New"
    new = select(User.username, User.email).where(User.username.in_(["new1", "new4"]))
    emails = dict(db.session.execute(new).all())
    assert emails == {"new1": "new1@example.org", "new4": None}  # kept for the staff; none given is None
    assert db.session.scalar(select(User.role).where(User.username == "new4")) == "instructor"
    for bad in ("bad name", "new2", "new3", "new5"):
        assert db.session.scalar(select(User).where(User.username == bad)) is None


def test_the_links_sign_each_new_person_in_once(app, roster_world):
    report = roster.import_csv(roster_world.course, b"\xef\xbb\xbfusername,name\nnew1,New One\nnew2,New Two\n")
    (one, token_one), (two, token_two) = report.created
    assert token_one != token_two
    assert roster.use_sign_in_token(token_one).id == one.id
    with pytest.raises(ServiceError) as spent:
        roster.use_sign_in_token(token_one)
    assert spent.value.status == 400 and "already used" in spent.value.message
    assert roster.use_sign_in_token(token_two).id == two.id
    assert not one.check_password("") and not one.check_password("!")


def test_a_spreadsheet_saved_with_semicolons_is_read_too(app, roster_world):
    report = roster.import_csv(roster_world.course, "username;name;email;role\r\nnew1;Nouveau, Un;;ta\r\n")
    assert [(u.username, u.name) for u, _ in report.created] == [("new1", "Nouveau, Un")] and not report.errors
    assert role_of(roster_world.course, "new1") == "ta"


@pytest.mark.parametrize("data, problem", [
    (b"", "first line must name the columns"),
    (b"name,email\nAda,a@example.org\n", "first line must name the columns"),
    (b"username,phone\nada,123\n", "unknown column(s) phone"),
    (b"username\n\xff\xfe\n", "not UTF-8"),
])
def test_a_file_without_a_usable_header_is_refused_as_a_whole(app, roster_world, data, problem):
    with pytest.raises(ServiceError) as refused:
        roster.import_csv(roster_world.course, data)
    assert refused.value.status == 422 and problem in refused.value.message


def test_the_upload_page_reports_links_existing_members_and_errors(client, roster_world):
    login(client, "ada")
    data = b"username,name,email,role\nnew1,New One,,student\nloner,,,\nalice,,,\n,,x@example.org,\n"
    response = client.post(f"/instructor/courses/{roster_world.course.id}/import",
                           data={"file": (io.BytesIO(data), "class.csv")})
    assert response.status_code == 200
    page = response.text
    assert "1 account created, 1 existing account added, 1 already in the course, 1 row with errors" in page
    assert "http://localhost/sign-in/" in page and "new1" in page
    assert "<td>5</td>" in page  # the row without a username, by its line number


@pytest.mark.parametrize("upload, status, message", [
    (None, 422, "Choose a CSV file to upload"),
    ((b"name\nx\n", "class.csv"), 422, "The first line must name the columns"),
    ((b"username\n" + b"a" * 1_000_001, "big.csv"), 413, "over 1 MB"),
])
def test_a_bad_upload_is_a_clear_4xx_on_the_roster_page(client, roster_world, upload, status, message):
    login(client, "ada")
    data = {} if upload is None else {"file": (io.BytesIO(upload[0]), upload[1])}
    response = client.post(f"/instructor/courses/{roster_world.course.id}/import", data=data)
    assert response.status_code == status
    assert message in response.text and "Upload a class list" in response.text
