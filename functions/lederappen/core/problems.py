"""Errors as `application/problem+json` (RFC 9457), one named class per failure.

Each class has a stable `type` URI (documented in the OpenAPI document), an HTTP status and
a title in Norwegian and English. `detail` is a localised sentence for the person using the
app; `errors` names failing fields for validation problems. Raise these from services and
handlers; the HTTP layer renders them and never lets anything else escape as a stack trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import msgspec

TYPE_BASE = "https://api.lederne.no/problems/"
CONTENT_TYPE = "application/problem+json"


class Problem(Exception):
    status = 500
    slug = "internal-error"
    title: ClassVar[dict[str, str]] = {
        "nb": "Noe gikk galt hos oss",
        "en": "Something went wrong on our side",
    }

    def __init__(
        self,
        detail: dict[str, str] | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ):
        super().__init__(self.slug)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type(self) -> str:
        return TYPE_BASE + self.slug

    def body(self, locale: str, instance: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "title": self.title.get(locale, self.title["en"]),
            "status": self.status,
        }
        if self.detail:
            out["detail"] = self.detail.get(locale, self.detail["en"])
        if instance:
            out["instance"] = instance
        if self.errors:
            out["errors"] = [
                {k: (v.get(locale, v["en"]) if isinstance(v, dict) else v) for k, v in e.items()}
                for e in self.errors
            ]
        out.update(self.extensions)
        return out


class BadRequest(Problem):
    """Raised when the request itself cannot be understood (a URL or request line the server
    cannot route) (400)."""

    status = 400
    slug = "bad-request"
    title: ClassVar[dict[str, str]] = {"nb": "Ugyldig forespørsel", "en": "Bad request"}


class Unauthenticated(Problem):
    """Raised when the bearer token is missing, malformed, expired or not ours (401)."""

    status = 401
    slug = "unauthenticated"
    title: ClassVar[dict[str, str]] = {"nb": "Du må logge inn", "en": "Authentication required"}

    def __init__(self, detail=None, **kw):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kw)


class Forbidden(Problem):
    """Raised when a valid token lacks the role the route needs (403)."""

    status = 403
    slug = "forbidden"
    title: ClassVar[dict[str, str]] = {"nb": "Du har ikke tilgang", "en": "You do not have access"}


class NotFound(Problem):
    """Raised for unknown resources and for other members' resources alike (404)."""

    status = 404
    slug = "not-found"
    title: ClassVar[dict[str, str]] = {"nb": "Fant ikke ressursen", "en": "Resource not found"}


class MethodNotAllowed(Problem):
    """Raised when the path exists but not with this method (405)."""

    status = 405
    slug = "method-not-allowed"
    title: ClassVar[dict[str, str]] = {"nb": "Metoden er ikke tillatt", "en": "Method not allowed"}


class Conflict(Problem):
    """Raised when the request conflicts with the current state (409)."""

    status = 409
    slug = "conflict"
    title: ClassVar[dict[str, str]] = {
        "nb": "Konflikt med gjeldende tilstand",
        "en": "Conflict with the current state",
    }


class PreconditionFailed(Problem):
    """Raised when If-Match does not match the current version (412)."""

    status = 412
    slug = "precondition-failed"
    title: ClassVar[dict[str, str]] = {
        "nb": "Dataene er endret av noen andre",
        "en": "The data was changed elsewhere",
    }


class PayloadTooLarge(Problem):
    """Raised when the request body exceeds MAX_REQUEST_BYTES (413)."""

    status = 413
    slug = "payload-too-large"
    title: ClassVar[dict[str, str]] = {
        "nb": "Forespørselen er for stor",
        "en": "Request body too large",
    }


class UnsupportedMediaType(Problem):
    """Raised when a body is not JSON (415)."""

    status = 415
    slug = "unsupported-media-type"
    title: ClassVar[dict[str, str]] = {"nb": "Ukjent innholdstype", "en": "Unsupported media type"}


class PreconditionRequired(Problem):
    """Raised when an update comes without If-Match (428)."""

    status = 428
    slug = "precondition-required"
    title: ClassVar[dict[str, str]] = {"nb": "If-Match mangler", "en": "If-Match header required"}


class ValidationFailed(Problem):
    """Raised when the body or parameters are invalid; `errors` names each field (422)."""

    status = 422
    slug = "validation-failed"
    title: ClassVar[dict[str, str]] = {"nb": "Ugyldige data", "en": "Invalid data"}


class DependencyUnavailable(Problem):
    """Raised when the database or an upstream service is down or too slow (503)."""

    status = 503
    slug = "dependency-unavailable"
    title: ClassVar[dict[str, str]] = {
        "nb": "Tjenesten er midlertidig utilgjengelig",
        "en": "The service is temporarily unavailable",
    }

    def __init__(self, dependency: str, retry_after: int = 5):
        super().__init__(
            {
                "nb": "Prøv igjen om litt.",
                "en": "Please try again shortly.",
            },
            headers={"Retry-After": str(retry_after)},
            dependency=dependency,
        )
        self.dependency = dependency


class InternalError(Problem):
    """Rendered for any unexpected exception (500); the cause is logged, never shown."""


ALL = (
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    PreconditionRequired,
    ValidationFailed,
    DependencyUnavailable,
    InternalError,
)


#: The stable `type` URIs, one per Problem class.
#: (A Literal built at import time: msgspec validates against it, mypy sees a str.)
if TYPE_CHECKING:
    ProblemType = str
else:
    ProblemType = Literal[tuple(TYPE_BASE + p.slug for p in ALL)]


class FieldError(msgspec.Struct, omit_defaults=True):
    """One failing field of a validation problem."""

    code: str
    message: str
    #: Dotted path of the failing field (`title.nb`, `questions.0.id`); null for the whole body.
    field: str | None = None


class ProblemDocument(msgspec.Struct, omit_defaults=True):
    """An error, as `application/problem+json` (RFC 9457): a stable `type` URI, a localised
    `title` and `detail`, and for invalid content `errors` naming each field. A problem may
    carry further members (for example `current_version` on a conflict)."""

    type: ProblemType
    title: str
    status: Annotated[int, msgspec.Meta(ge=400, le=599)]
    detail: str | None = None
    instance: str | None = None
    #: For dependency-unavailable: which dependency.
    dependency: str | None = None
    errors: list[FieldError] | None = None
