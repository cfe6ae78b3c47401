"""The same class gives the same scores however it is graded: 1 local job, a PostgreSQL gradebook, a Dask
cluster (2 local jobs: the full class of tests/test_cli_grade.py and the hostile one, against the same
table of expected scores). A small class keeps this cheap."""

import os
import uuid

import pytest

from classroom import CH04, Handin, every_other, expected_scores, write_class
from test_cli_grade import grade, gradebook_scores

SMALL_CLASS = {  # two notebooks, so that two jobs grade side by side; the full class has the blank ones
    "ada": (False, [Handin(CH04)]),
    "cy": (True, [Handin(CH04, solved=every_other(CH04, 1))]),
}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    return write_class(tmp_path_factory.mktemp("small") / "submissions", SMALL_CLASS)


@pytest.fixture(scope="module")
def one_job(submissions, tmp_path_factory):
    course = tmp_path_factory.mktemp("one_job")
    status, out = grade(submissions, "--course", course, "--jobs", 1)
    assert status == 0, out
    return gradebook_scores(course)


def test_one_job_gives_the_expected_scores(one_job):
    assert one_job == expected_scores(SMALL_CLASS)


@pytest.fixture
def postgresql_database():
    """A new database on the PostgreSQL server that .ci/run starts on loopback; dropped afterwards."""
    server = os.environ.get("AEWORKBOOK_TEST_DATABASE_URL")
    if not server:
        pytest.skip("no PostgreSQL server: set AEWORKBOOK_TEST_DATABASE_URL (.ci/run starts one)")
    import psycopg

    name = f"gradebook_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        yield server.rsplit("/", 1)[0] + "/" + name
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_postgresql_gradebook_gives_the_same_scores(submissions, one_job, tmp_path, postgresql_database):
    from aeworkbook.course.catalogue import Workbook, chapters
    from aeworkbook.course.grading import Course, gradebook_scores as read

    status, out = grade(submissions, "--course", tmp_path, "--jobs", 2, "--db", postgresql_database)
    assert status == 0, out
    assert not (tmp_path / "gradebook.db").exists(), "nothing went to SQLite"
    workbook = Workbook.find()
    assert read(Course(str(workbook.root), str(tmp_path), postgresql_database), chapters(workbook.solutions)) == one_job


def test_dask_cluster_gives_the_same_scores(submissions, one_job, tmp_path):
    status, out = grade(submissions, "--course", tmp_path, "--jobs", 2, "--dask")
    assert status == 0 and "with Dask local" in out, out
    assert gradebook_scores(tmp_path) == one_job
