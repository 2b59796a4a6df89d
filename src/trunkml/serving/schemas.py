"""The HTTP contract: strict request and response models, built from the endpoint's limits.

Request bodies are parsed straight from bytes by pydantic's JSON parser, which
refuses what JSON does not allow (NaN, Infinity, invalid UTF-8, absurd nesting).
Every model forbids unknown fields and takes no coercion; texts must be valid
Unicode without NUL characters, and their length and count limits are part of the
OpenAPI schema, so a client can read the rules instead of guessing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from trunkml.datasets.schema import DataSchema, Feature, FeatureType
from trunkml.registry.explain import Explanation
from trunkml.serving.spec import Limits

# Valid Unicode text without NUL: lone surrogates cannot be encoded, stored or hashed.
TEXT_PATTERN = r"^[^\u0000\ud800-\udfff]*$"
REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (it contains a lone surrogate)") from exc
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Prediction(_Strict):
    """One text's answer: the label (1 = the positive class) and the model's score for label 1."""

    label: Literal[0, 1]
    score: float = Field(ge=0.0, le=1.0)
    explanation: Explanation | None = Field(default=None, description="With ?explain=true: why.")


class _Answer(_Strict):
    request_id: str
    model: str
    version: int
    route: Literal["champion", "canary"]


class SinglePredictResponse(_Answer):
    """The answer to ``{"text": ...}``."""

    label: Literal[0, 1]
    score: float = Field(ge=0.0, le=1.0)
    explanation: Explanation | None = Field(default=None, description="With ?explain=true: why.")


class BatchPredictResponse(_Answer):
    """The answer to ``{"texts": [...]}``: one prediction per text, in order."""

    predictions: list[Prediction]


class Feedback(_Strict):
    """The true label of an earlier prediction (``item`` is its position in a ``texts`` request)."""

    request_id: Annotated[str, Field(pattern=REQUEST_ID_PATTERN)]
    label: Literal[0, 1]
    item: int = Field(default=0, ge=0, le=100_000)


class FeedbackStored(_Strict):
    """Feedback that was stored: a label (classification) or a value (regression)."""

    request_id: str
    item: int
    label: int | str | None = None
    value: float | None = None


class Interval(_Strict):
    """A regression model's prediction interval, from the quantiles it answers."""

    lower: float
    upper: float
    levels: tuple[float, float] = Field(description="The quantile levels of lower and upper, e.g. [0.05, 0.95].")


class ClassPrediction(_Strict):
    """A multi-class answer: the class name, its probability, and every class's probability by name."""

    label: str
    score: float = Field(ge=0.0, le=1.0)
    probabilities: dict[str, float] | None = None
    explanation: Explanation | None = None


class ValuePrediction(_Strict):
    """A regression answer: the prediction, and its interval when the model answers quantiles."""

    prediction: float
    interval: Interval | None = None
    explanation: Explanation | None = None


class SingleClassResponse(ClassPrediction, _Answer):
    """A multi-class model's answer to ``{"text": ...}``."""


class SingleValueResponse(ValuePrediction, _Answer):
    """A regression model's answer to ``{"text": ...}``."""


class BatchClassResponse(_Answer):
    """A multi-class model's answer: one prediction per input, in order."""

    predictions: list[ClassPrediction]


class BatchValueResponse(_Answer):
    """A regression model's answer: one prediction per input, in order."""

    predictions: list[ValuePrediction]


def feedback_model(task: str, class_list: tuple[str, ...]) -> type[BaseModel]:
    """The ``/feedback`` body for a served task: a 0/1 label, one of the K class names, or a finite value.

    A multi-class model whose class names are whole numbers (``"0"``…``"9"``) also takes them as numbers.
    """
    config = ConfigDict(extra="forbid", strict=True, frozen=True)
    request_id: Any = (Annotated[str, Field(pattern=REQUEST_ID_PATTERN)], ...)
    item = (int, Field(default=0, ge=0, le=100_000))
    if task == "regression":
        value: Any = (Annotated[float, Field(allow_inf_nan=False, description="The true value")], ...)
        return create_model("Feedback", __config__=config, request_id=request_id, value=value, item=item)
    if task == "multiclass" and class_list:
        kinds: Any = Literal[tuple(class_list)]
        numbers = whole_number_names(class_list)
        if numbers:
            kinds = kinds | Literal[tuple(numbers)]
        label: Any = (Annotated[kinds, Field(description="The true class, by name")], ...)
        return create_model("Feedback", __config__=config, request_id=request_id, label=label, item=item)
    if task == "multiclass":  # class names unknown (a version without its classes tag): the class index
        index: Any = (Annotated[int, Field(ge=0, description="The true class index")], ...)
        return create_model("Feedback", __config__=config, request_id=request_id, label=index, item=item)
    return Feedback


def whole_number_names(class_list: tuple[str, ...]) -> dict[int, str]:
    """Class names that read as whole numbers (``"3"``, not ``"007"`` or ``"²"``) by their number; empty on a clash."""
    found = {int(name): name for name in class_list if name.isascii() and name.isdigit() and str(int(name)) == name}
    return found if len(found) == len(class_list) else {}


class ErrorBody(_Strict):
    """Every error answer: what went wrong, what to do, and field-level details for bad requests."""

    error: str
    message: str
    hint: str | None = None
    details: list[dict[str, Any]] | None = None


class WebhookPayload(BaseModel):
    """The envelope MLflow sends to registry webhooks (only the fields trunkml reads are checked)."""

    model_config = ConfigDict(extra="allow")

    entity: str
    action: str
    data: dict[str, Any]


@dataclass(frozen=True)
class RequestModels:
    """The predict request models and their validator, for one set of limits."""

    single: type[BaseModel]
    batch: type[BaseModel]
    adapter: TypeAdapter[Any]


def request_models(limits: Limits) -> RequestModels:
    """Build ``{"text"}`` / ``{"texts"}`` request models that carry ``limits`` in their schema."""
    text = Annotated[
        str,
        Field(max_length=limits.max_text_chars, json_schema_extra={"pattern": TEXT_PATTERN}),
        AfterValidator(_clean_text),
    ]
    config = ConfigDict(extra="forbid", strict=True, frozen=True)
    single = create_model("PredictText", __config__=config, text=(text, ...))
    batch = create_model(
        "PredictTexts",
        __config__=config,
        texts=(Annotated[list[text], Field(min_length=1, max_length=limits.max_batch_texts)], ...),
    )
    return RequestModels(single, batch, TypeAdapter(single | batch))


def _field(feature: Feature, limits: Limits) -> tuple[Any, Any]:
    """The pydantic type of one feature's value: strict, finite numbers; known categories unless open."""
    kind: Any
    if feature.type is FeatureType.NUMERIC:
        kind = Annotated[float, Field(allow_inf_nan=False)]
    elif feature.type is FeatureType.BOOLEAN:
        kind = bool
    elif feature.type is FeatureType.CATEGORICAL and not feature.open:
        kind = Literal[tuple(feature.categories)]
    else:
        kind = Annotated[
            str,
            Field(max_length=limits.max_text_chars, json_schema_extra={"pattern": TEXT_PATTERN}),
            AfterValidator(_clean_text),
        ]
    if feature.nullable:
        return kind | None, None
    return kind, ...


def records_model(schema: DataSchema, limits: Limits) -> tuple[type[BaseModel], TypeAdapter[Any]]:
    """The ``{"inputs": [{feature: value, ...}, ...]}`` request model of a served schema, and its validator.

    Every record must give every required feature and nothing else; its name and type come from the
    model's schema, so the OpenAPI document lists the real features.
    """
    config = ConfigDict(extra="forbid", strict=True, frozen=True)
    fields: dict[str, Any] = {}
    for i, feature in enumerate(schema.features):  # names may hold spaces: fields are f0, f1, … with aliases
        kind, default = _field(feature, limits)
        fields[f"f{i}"] = (kind, Field(default, alias=feature.name))
    record: type[BaseModel] = create_model("Record", __config__=config, **fields)
    body = create_model(
        "PredictRecords",
        __config__=config,
        inputs=(Annotated[list[record], Field(min_length=1, max_length=limits.max_batch_texts)], ...),
    )
    return body, TypeAdapter(body)


def error_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors without the offending input (which may be huge or not even valid Unicode)."""
    return [
        {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
