"""A fake Canvas: the REST endpoints an upload uses, with Canvas's request and response shapes.

``GET /api/v1/courses/:id``, ``GET .../assignments/:id``, ``GET .../submissions``
(paginated with a ``Link`` header, at most ``page_cap`` items a page whatever
``per_page`` asks) and ``PUT .../submissions/:user_id`` (form fields
``submission[posted_grade]`` and ``comment[text_comment]``; every comment is
appended, as Canvas does). Bearer tokens are checked; a bad one gets 401 with
``WWW-Authenticate``; throttling answers ``403 Forbidden (Rate Limit Exceeded)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

TOKEN = "canvas-test-token"
COURSE, ASSIGNMENT = 101, 2002


@dataclass
class FakeCanvas:
    users: list[dict]
    page_cap: int = 2
    throttle: int = 0                   # the next N requests are throttled
    fail_put_for: set[int] = field(default_factory=set)   # user ids whose PUT gets a 500
    course_status: int | None = None    # answer every course request with this status
    submissions: dict[int, dict] = field(default_factory=dict)
    comment_ids: int = 0

    def __post_init__(self) -> None:
        for user in self.users:
            self.submissions.setdefault(user["id"], {"score": None, "grade": None,
                                                     "comments": []})

    # --- Canvas's JSON shapes -------------------------------------------------------------------

    def _submission(self, user: dict, include: list[str]) -> dict:
        state = self.submissions[user["id"]]
        body = {
            "id": 70000 + user["id"], "assignment_id": ASSIGNMENT, "user_id": user["id"],
            "score": state["score"], "grade": state["grade"], "attempt": None,
            "workflow_state": "graded" if state["score"] is not None else "unsubmitted",
            "grade_matches_current_submission": True, "submitted_at": None, "late": False,
            "missing": False, "excused": None, "entered_score": state["score"],
            "entered_grade": state["grade"], "preview_url": "https://canvas.invalid/preview",
        }
        if "submission_comments" in include:
            body["submission_comments"] = list(state["comments"])
        if "user" in include:
            body["user"] = {k: user[k] for k in ("id", "name", "sortable_name", "sis_user_id",
                                                 "login_id", "email") if k in user}
        return body

    def _error(self, status: int, message: str, headers=None):
        return status, headers or {}, {"errors": [{"message": message}]}

    # --- the app --------------------------------------------------------------------------------

    def __call__(self, request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return self._error(401, "Invalid access token.",
                               {"WWW-Authenticate": 'Bearer realm="canvas-lms"'})
        if self.throttle:
            self.throttle -= 1
            return 403, {"X-Rate-Limit-Remaining": "0.0", "X-Request-Cost": "12.4"}, \
                "403 Forbidden (Rate Limit Exceeded)\n"
        if self.course_status is not None:
            return self._error(self.course_status, "An error occurred.")
        path = request.path
        if m := re.fullmatch(r"/api/v1/courses/(\d+)", path):
            if int(m[1]) != COURSE:
                return self._error(404, "The specified resource does not exist.")
            return 200, {}, {"id": COURSE, "name": "Machine Learning", "course_code": "ML-101",
                             "workflow_state": "available", "account_id": 1,
                             "enrollment_term_id": 1, "uuid": "c0ffee"}
        if m := re.fullmatch(r"/api/v1/courses/(\d+)/assignments/(\d+)", path):
            if (int(m[1]), int(m[2])) != (COURSE, ASSIGNMENT):
                return self._error(404, "The specified resource does not exist.")
            return 200, {}, {"id": ASSIGNMENT, "name": "Perceptron", "course_id": COURSE,
                             "points_possible": 100.0, "grading_type": "points",
                             "published": True, "submission_types": ["online_upload"],
                             "html_url": f"https://canvas.invalid/courses/{COURSE}/"
                                         f"assignments/{ASSIGNMENT}"}
        base = f"/api/v1/courses/{COURSE}/assignments/{ASSIGNMENT}/submissions"
        if path == base and request.method == "GET":
            return self._list(request)
        if (m := re.fullmatch(re.escape(base) + r"/(\d+)", path)) and request.method == "PUT":
            return self._update(int(m[1]), request)
        return self._error(404, "The specified resource does not exist.")

    def _list(self, request):
        include = request.query.get("include[]", [])
        page = int(request.query.get("page", ["1"])[0])
        # Canvas caps page sizes on its side; canvasapi also sends its own per_page=100.
        per_page = min([int(p) for p in request.query.get("per_page", ["10"])] + [self.page_cap])
        items = [self._submission(u, include) for u in self.users]
        chunk = items[(page - 1) * per_page:page * per_page]
        last = max(1, -(-len(items) // per_page))
        host = request.headers["host"]

        def link(n: int, rel: str) -> str:
            query = urlencode([("include[]", i) for i in include] + [("page", n),
                                                                     ("per_page", per_page)])
            return f'<http://{host}{request.path}?{query}>; rel="{rel}"'

        links = [link(page, "current"), link(1, "first"), link(last, "last")]
        if page < last:
            links.insert(1, link(page + 1, "next"))
        return 200, {"Link": ",".join(links)}, chunk

    def _update(self, user_id: int, request):
        user = next((u for u in self.users if u["id"] == user_id), None)
        if user is None:
            return self._error(404, "The specified resource does not exist.")
        if user_id in self.fail_put_for:
            return 500, {}, {"errors": [{"message": "An error occurred."}],
                             "error_report_id": 5}
        state = self.submissions[user_id]
        grade = request.form.get("submission[posted_grade]")
        if grade:
            state["score"] = float(grade[0])
            state["grade"] = grade[0]
        comment = request.form.get("comment[text_comment]")
        if comment:
            self.comment_ids += 1
            state["comments"].append({"id": self.comment_ids, "author_id": 1,
                                      "author_name": "Teacher", "comment": comment[0],
                                      "created_at": "2026-11-21T10:00:00Z"})
        body = self._submission(user, ["submission_comments"])
        body["all_submissions"] = [dict(body)]
        return 200, {}, body

    def puts(self, server) -> list:
        return [r for r in server.requests if r.method == "PUT"]
