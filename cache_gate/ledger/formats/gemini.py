"""`gemini`: a Gemini `GenerateContentResponse`, from the Gemini API or Vertex AI.

Recognised by `usageMetadata` (the REST JSON, camelCase) or `usage_metadata` (the
google-genai Python SDK's `model_dump_json()`, snake_case).

- `promptTokenCount` INCLUDES `cachedContentTokenCount` (the tokens read from the
  implicit or explicit context cache): uncached = prompt - cached.
- The API's JSON leaves out zero-valued fields (the SDK's dump writes them as
  null), so on a response with `usageMetadata` an absent or null
  `cachedContentTokenCount` is 0 cached tokens: a miss, not unknown.
- Gemini reports no cache writes (implicit caching has no write fee; an explicit
  `cachedContents` entry is paid for when created and stored, not per request):
  `cache_write` is unknown.
- Output tokens are `candidatesTokenCount` + `thoughtsTokenCount` (thinking is billed
  as output). `toolUsePromptTokenCount` is not read.
- The model is `modelVersion`; the time is a `timestamp` the application adds
  (a Gemini API response carries none).
- An application's `session_id` and `cache_miss_reason` logged beside the response are
  read as a backlog record's are; the provider's own diagnosis wins.

Sources: Google, Gemini API reference, `UsageMetadata`,
https://ai.google.dev/api/generate-content#UsageMetadata, and Vertex AI's
`GenerateContentResponse.UsageMetadata`,
https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/GenerateContentResponse;
the wording checked through Google's own SDK references (google-genai for JS:
"promptTokenCount ... When cached_content is set, this is still the total effective
prompt size meaning this includes the number of tokens in the cached content",
https://googleapis.github.io/js-genai/) and Firebase AI Logic ("If implicit caching
is not active or no content was cached, this will be 0"). Shapes checked with
google-genai 3.6's `GenerateContentResponse`. Not confirmed from Google's own page:
that the API leaves `cachedContentTokenCount` out when it is zero (it is the proto3
JSON mapping's rule, https://protobuf.dev/programming-guides/json/, and matches the
responses we have seen), and whether `promptTokenCount` includes
`toolUsePromptTokenCount`.
"""

from __future__ import annotations

from cache_gate.ledger.formats.fields import epoch, plain, request_record
from cache_gate.ledger.line_errors import LineError
from cache_gate.ledger.lines import GeminiUsage, Line
from cache_gate.ledger.record import Record

NAME = "gemini"


def _first(camel: int | None, snake: int | None) -> int | None:
    return camel if camel is not None else snake


def normalise(line: Line, usage: GeminiUsage) -> Record:
    prompt = _first(usage.promptTokenCount, usage.prompt_token_count)
    read = uncached = None
    if prompt is not None:
        read = _first(usage.cachedContentTokenCount, usage.cached_content_token_count) or 0
        if read > prompt:
            raise LineError(f"cachedContentTokenCount ({read}) exceeds promptTokenCount "
                            f"({prompt})")
        uncached = prompt - read
    candidates = _first(usage.candidatesTokenCount, usage.candidates_token_count)
    thoughts = _first(usage.thoughtsTokenCount, usage.thoughts_token_count)
    output = None if candidates is None and thoughts is None else (
        (candidates or 0) + (thoughts or 0))
    return request_record(line, NAME, time=epoch(line.timestamp),
                          model=line.modelVersion or line.model_version or line.model,
                          uncached=uncached, read=read, output=output)


def claims(line: Line) -> bool:
    """A flat line with `usageMetadata` (or the Python SDK's `usage_metadata`)."""
    return plain(line) and (line.usageMetadata is not None or line.usage_metadata is not None)


def read(line: Line) -> Record:
    usage = line.usageMetadata if line.usageMetadata is not None else line.usage_metadata
    assert usage is not None
    return normalise(line, usage)
