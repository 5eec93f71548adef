"""The engine's built-in exporters and uploaders, registered like any plugin's."""

from autograder.exporters import GRADES, RESULTS, Exporter, Option, Uploader
from autograder.hookspecs import hookimpl


@hookimpl
def register_exporters(register):
    from autograder import gradescope
    from autograder.exporters import junit, spreadsheets

    register("junit", Exporter(
        source=RESULTS, write=junit.write, suffix=".xml",
        help="JUnit XML for GitLab, Jenkins and GitHub test reporters: one testcase per test."))
    register("gradescope", Exporter(
        source=RESULTS, write=gradescope.write, suffix=".json",
        help="Gradescope's results.json for one results file.",
        options=(Option("hidden_visibility", "When Gradescope shows hidden tests: hidden, "
                        "after_due_date, after_published or visible.",
                        default=gradescope.DEFAULT_HIDDEN_VISIBILITY),)))
    register("canvas-csv", Exporter(
        source=GRADES, write=spreadsheets.canvas_csv, suffix=".csv",
        help="A CSV for Canvas's gradebook import (Grades > Import).",
        options=(Option("canvas_assignment_id", "The assignment's id in Canvas (the number in "
                        "its URL); without it Canvas would create a new assignment.",
                        required=True),
                 Option("title", "The column title (default: the assignment's title)."),
                 Option("student_id_as", "The Canvas column our student ids go in when the "
                        "accounts file gives none: sis_user_id or sis_login_id.",
                        default="sis_user_id"))))
    register("moodle-csv", Exporter(
        source=GRADES, write=spreadsheets.moodle_csv, suffix=".csv",
        help="A CSV for Moodle's grade import (Grades > Import > CSV file).",
        options=(Option("identity", "The column Moodle maps students by: email, idnumber "
                        "or username.", default="email"),
                 Option("title", "The grade column's title (default: the assignment's title)."))))


@hookimpl
def register_uploaders(register):
    from autograder.exporters import canvas, lti

    register("canvas", Uploader(
        push=canvas.push,
        help="Push grades and a comment per student to a Canvas assignment (REST API).",
        options=(Option("url", "Canvas's address, e.g. https://canvas.example.edu.",
                        required=True, envvar="CANVAS_URL"),
                 Option("course", "The course id (the number in the course's URL).",
                        required=True),
                 Option("assignment", "The Canvas assignment id (the number in its URL).",
                        required=True),
                 Option("token", "An access token; read from CANVAS_API_TOKEN.",
                        envvar="CANVAS_API_TOKEN", secret=True, default=""))))
    register("lti", Uploader(
        push=lti.push,
        help="Publish scores to an LTI 1.3 line item (Assignment and Grade Services).",
        options=(Option("lineitem", "The line item URL the platform gave the tool.",
                        required=True, envvar="LTI_LINEITEM"),
                 Option("issuer", "The platform's issuer (iss).", envvar="LTI_ISSUER",
                        default=""),
                 Option("client_id", "The tool's client id on the platform.",
                        envvar="LTI_CLIENT_ID", default=""),
                 Option("token_url", "The platform's OAuth2 token URL.",
                        envvar="LTI_TOKEN_URL", default=""),
                 Option("private_key", "The PEM file of the tool's private key.",
                        envvar="LTI_PRIVATE_KEY", default=""),
                 Option("key_id", "The key's kid, when the platform knows it by another than "
                        "its JWK thumbprint.", envvar="LTI_KEY_ID", default=""),
                 Option("audience", "The token request's audience, when not the token URL.",
                        envvar="LTI_AUDIENCE", default=""))))
