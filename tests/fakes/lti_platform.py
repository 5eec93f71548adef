"""A fake LTI 1.3 platform: the OAuth2 token endpoint and a line item's ``/scores``.

``POST /token`` verifies the client assertion as a platform does (RS256
signature with the tool's registered public key, ``kid``, ``iss`` = ``sub`` =
client id, ``aud`` = the token URL, ``exp``, a ``jti`` never seen before) and
the form (``grant_type``, ``client_assertion_type``, ``scope``).
``POST /lineitems/<id>/scores`` checks the bearer token, the score media type
and the fields Canvas requires, and refuses a timestamp older than the one it
stored (Canvas answers 400).
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets
from dataclasses import dataclass, field

import jwt

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}


@dataclass
class FakePlatform:
    client_id: str
    public_pem: str
    kid: str
    students: set[str]
    token_url: str = ""           # set once the server knows its port
    token_status: int | None = None
    scores_status: int | None = None
    tokens: set[str] = field(default_factory=set)
    jtis: set[str] = field(default_factory=set)
    scores: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __call__(self, request):
        if request.path == "/token" and request.method == "POST":
            return self._token(request)
        if (m := re.fullmatch(r"/lineitems/(\d+)/scores", request.path)) and \
                request.method == "POST":
            return self._score(m[1], request)
        return 404, {}, {"errors": {"type": "not_found", "message": "not found"}}

    def _refuse(self, status: int, why: str):
        self.problems.append(why)
        return status, {}, {"error": "invalid_request", "error_description": why}

    def _token(self, request):
        if self.token_status is not None:
            return self._refuse(self.token_status, "token endpoint told to fail")
        form = {k: v[0] for k, v in request.form.items()}
        if form.get("grant_type") != "client_credentials":
            return self._refuse(400, "grant_type must be client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return self._refuse(400, "wrong client_assertion_type")
        if SCORE_SCOPE not in form.get("scope", "").split():
            return self._refuse(400, "the score scope was not asked for")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, self.public_pem, algorithms=["RS256"],
                                audience=self.token_url,
                                options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
        except jwt.PyJWTError as exc:
            return self._refuse(401, f"bad client assertion: {exc}")
        if header.get("kid") != self.kid:
            return self._refuse(401, f"unknown kid {header.get('kid')!r}")
        if claims["iss"] != self.client_id or claims["sub"] != self.client_id:
            return self._refuse(401, "iss and sub must be the client id")
        if claims["jti"] in self.jtis:
            return self._refuse(401, "jti replayed")
        self.jtis.add(claims["jti"])
        token = secrets.token_hex(8)
        self.tokens.add(token)
        return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                         "scope": SCORE_SCOPE}

    def _score(self, lineitem: str, request):
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return self._refuse(401, "no valid bearer token")
        if self.scores_status is not None:
            return self._refuse(self.scores_status, "scores endpoint told to fail")
        if request.headers.get("content-type") != "application/vnd.ims.lis.v1.score+json":
            return self._refuse(415, f"content type {request.headers.get('content-type')}")
        body = request.json()
        for name in ("userId", "activityProgress", "gradingProgress", "timestamp"):
            if name not in body:
                return self._refuse(400, f"{name} is required")
        if "scoreGiven" in body and "scoreMaximum" not in body:
            return self._refuse(422, "scoreMaximum is required with scoreGiven")
        if body["activityProgress"] not in ACTIVITY or body["gradingProgress"] not in GRADING:
            return self._refuse(400, "bad progress value")
        if body["userId"] not in self.students:
            return self._refuse(422, "User not found in course or is not a student")
        stamp = _dt.datetime.fromisoformat(body["timestamp"])
        if stamp.tzinfo is None or "." not in body["timestamp"]:
            return self._refuse(400, "timestamp needs sub-second precision and an offset")
        history = self.scores.setdefault((lineitem, body["userId"]), [])
        if history and stamp < _dt.datetime.fromisoformat(history[-1]["timestamp"]):
            return self._refuse(400, "Provided timestamp of ... before last updated timestamp")
        history.append(body)
        return 200, {}, {"resultUrl": f"{self.token_url.rsplit('/', 1)[0]}/lineitems/"
                                      f"{lineitem}/results/{len(history)}"}
