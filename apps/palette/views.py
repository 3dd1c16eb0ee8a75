"""The palette's JSON endpoint: a thin view over apps.palette.query and selectors."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse

from apps.core.types import StaffRequest
from apps.palette import selectors
from apps.palette.query import InvalidQuery, parse


def _over_rate(request: StaffRequest) -> bool:
    """At most PALETTE_RATE_LIMIT lookups per person per minute (a fixed window in the cache)."""
    limit: int = settings.PALETTE_RATE_LIMIT
    if not limit:
        return False
    key = f"palette-rate:{request.user.pk}"
    cache.add(key, 0, 60)
    try:
        count: int = cache.incr(key)
        return count > limit
    except ValueError:  # expired between add and incr: a new window
        cache.set(key, 1, 60)
        return False


def palette(request: StaffRequest) -> JsonResponse:
    """``GET /admin/palette/?q=``: ``{"query", "count", "results": [{kind, title, detail, url}],
    "message"}``; 400 with a message for input that cannot be a query, 429 past the rate limit."""
    if _over_rate(request):
        response = JsonResponse(
            {"error": "Too many lookups in a minute; wait a moment and type again."}, status=429
        )
        response["Retry-After"] = "60"
        return response
    raw = request.GET.get("q", "")
    try:
        query = parse(raw, scopes=selectors.scope_words(request.user))
    except InvalidQuery as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    answer = selectors.lookup(query=query, request=request)
    notes = []
    if answer.refused and not answer.results:
        notes.append(
            f"Your role cannot look up by {', '.join(dict.fromkeys(answer.refused))}: "
            "those details are masked for you."
        )
    if answer.unavailable:
        notes.append(f"Not searched, unavailable right now: {', '.join(dict.fromkeys(answer.unavailable))}.")
    response = JsonResponse(
        {
            "query": query.term,
            "shape": query.shape,
            "count": len(answer.results),
            "results": [result.as_json() for result in answer.results],
            "message": " ".join(notes),
        }
    )
    response["Cache-Control"] = "private, no-store"
    return response
