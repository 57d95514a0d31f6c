"""Reading request bodies of the ops API: a bad body is a JSON 400 naming the field, never a 500."""
from rest_framework.response import Response


class BadBody(Exception):
    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")

    def response(self) -> Response:
        return Response({"error": f"{self.field}: {self.problem}", "field": self.field}, status=400)


def obj(request) -> dict:
    """The body as a JSON object (an empty body is an empty object)."""
    data = request.data
    if data is None or data == "" or data == []:
        return {}
    if not hasattr(data, "get") or not hasattr(data, "items"):
        raise BadBody("body", "must be a JSON object")
    return data


def text(data: dict, field: str, *, max_length: int | None = None, default: str = "") -> str:
    """An optional text field: a string without NUL characters (PostgreSQL text cannot hold them)."""
    value = data.get(field)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadBody(field, "must be a string")
    if "\x00" in value:
        raise BadBody(field, "must not contain NUL characters")
    return value[:max_length] if max_length else value
