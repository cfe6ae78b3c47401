"""The instructor's half: the ``aeworkbook`` command and what it runs.

Catalogue of chapters and exercises, nbgrader configuration, release, validate,
grading (sandbox, submissions, report, grades export). Notebooks never import
from here; they use the parent package (profiles, data, session, plots).
"""
