"""The programme's rules (RFM schemes, segments, tiers, interests, behaviour, brand rate bounds) from TOML."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from app.domain import PERSONAL_FIELDS

Scheme = Literal["quintile", "three_level"]
SCHEMES: tuple[Scheme, ...] = get_args(Scheme)
MAX_SCORE: dict[str, int] = {"quintile": 5, "three_level": 3}
Monetary = Literal["total", "average"]

DEFAULT_RULES_PATH = Path(__file__).with_name("programme.toml")
BPS_DENOMINATOR = 10_000
# Names end up as SQL string literals: a strict alphabet keeps them safe and readable.
_NAME = re.compile(r"^[a-z][a-z0-9 _-]{0,39}$")


class InvalidRules(ValueError):
    """The rules file is malformed; the message names the offending field."""


@dataclass(frozen=True)
class Programme:
    name: str
    version: str


@dataclass(frozen=True)
class ThreeLevelRules:
    """The source articles' 3-level scheme; see programme.toml for how its gaps are closed."""

    window_days: int
    days_per_month: int
    recency_months: tuple[int, int]
    frequency_window_months: int
    frequency_min: tuple[int, int]
    monetary_min_won: tuple[int, int]
    monetary: Monetary

    @property
    def recency_max_days(self) -> tuple[int, int]:
        """Largest age in days still scoring R 3, and R 2."""
        return (self.recency_months[0] * self.days_per_month, self.recency_months[1] * self.days_per_month)

    @property
    def frequency_window_days(self) -> int:
        return self.frequency_window_months * self.days_per_month


@dataclass(frozen=True)
class QuintileRules:
    window_days: int
    monetary: Monetary


@dataclass(frozen=True)
class SegmentRule:
    """Customers with r_min <= R <= r_max and f_min <= F <= f_max are in this segment (first match wins)."""

    name: str
    r: tuple[int, int]
    f: tuple[int, int]


@dataclass(frozen=True)
class Segments:
    quintile: tuple[SegmentRule, ...]
    three_level: tuple[SegmentRule, ...]

    def for_scheme(self, scheme: Scheme) -> tuple[SegmentRule, ...]:
        return self.quintile if scheme == "quintile" else self.three_level


@dataclass(frozen=True)
class TierCondition:
    min_f: int
    min_m: int


@dataclass(frozen=True)
class TierRule:
    """A grade with its cashback rate in basis points; qualifies on F and M of the scheme in use."""

    name: str
    cashback_bps: int
    quintile: TierCondition
    three_level: TierCondition

    def condition(self, scheme: Scheme) -> TierCondition:
        return self.quintile if scheme == "quintile" else self.three_level


@dataclass(frozen=True)
class InterestWeights:
    view: int
    touch: int
    compare: int
    wishlist: int
    cart_add: int
    cart_abandon: int
    purchase: int

    def items(self) -> list[tuple[str, int]]:
        return list(asdict(self).items())


@dataclass(frozen=True)
class InterestRules:
    half_life_days: int
    max_age_days: int
    weights: InterestWeights


@dataclass(frozen=True)
class QuietRule:
    """High value gone quiet: previously F >= f_min, M >= m_min and R > r_max; now R <= r_max."""

    r_max: int
    f_min: int
    m_min: int


@dataclass(frozen=True)
class HighValueGoneQuiet:
    quintile: QuietRule
    three_level: QuietRule

    def for_scheme(self, scheme: Scheme) -> QuietRule:
        return self.quintile if scheme == "quintile" else self.three_level


@dataclass(frozen=True)
class BehaviourRules:
    spend_thresholds_won: tuple[int, ...]
    points_thresholds: tuple[int, ...]
    high_value_gone_quiet: HighValueGoneQuiet


@dataclass(frozen=True)
class EpochRules:
    """How an epoch settles: which scheme grades customers, how long a period is, won to CASH."""

    scheme: Scheme
    period_days: int
    cash_units_per_won: int


@dataclass(frozen=True)
class UpkeepRules:
    """Paid upkeep of one's own profile (docs/data-rights.md): what a counted field earns, how often, when reminded."""

    reward_units: int  # token units per paid field event
    period_days: int  # at most one paid event per (customer, field) in any window of this many days
    reminder_days: int  # a field unchanged and unconfirmed this long is due for a reminder (and may be confirmed)
    fields: tuple[str, ...]  # the personal fields that count


@dataclass(frozen=True)
class BrandRateBounds:
    """What a brand's own earning rules may add on top of the tier rates (docs/epochs.md, "Brand earning rules").

    A rule row names one of `categories` (a purchase item's category, matched exactly) and one tier, and adds
    at most `max_extra_bps`; the tier's rate plus the extra is at most `max_total_bps`; a version holds at
    most `max_rows` rows.
    """

    categories: tuple[str, ...]
    max_extra_bps: int
    max_total_bps: int
    max_rows: int


@dataclass(frozen=True)
class ProgrammeRules:
    """Everything the analytics need to score, segment, grade and watch customers."""

    programme: Programme
    three_level: ThreeLevelRules
    quintile: QuintileRules
    segments: Segments
    tiers: tuple[TierRule, ...]
    interests: InterestRules
    behaviour: BehaviourRules
    epochs: EpochRules
    upkeep: UpkeepRules
    brand_rates: BrandRateBounds

    def window_days(self, scheme: Scheme) -> int:
        return self.quintile.window_days if scheme == "quintile" else self.three_level.window_days

    def monetary(self, scheme: Scheme) -> Monetary:
        return self.quintile.monetary if scheme == "quintile" else self.three_level.monetary

    def tier_names(self) -> list[str]:
        return [tier.name for tier in self.tiers]


def canonical_json(rules: ProgrammeRules) -> str:
    """Sorted keys, no whitespace, UTF-8: the byte string rules_hash is taken over."""
    return json.dumps(asdict(rules), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rules_hash(rules: ProgrammeRules) -> str:
    """0x-prefixed sha256 of the canonical JSON of the loaded rules (committed with each epoch)."""
    return "0x" + hashlib.sha256(canonical_json(rules).encode("utf-8")).hexdigest()


def load_rules(path: str | Path | None = None) -> ProgrammeRules:
    """Read and validate a rules file (the shipped programme.toml by default)."""
    source = Path(path) if path is not None else DEFAULT_RULES_PATH
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidRules(f"{source}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise InvalidRules(f"{source}: cannot be read: {exc}") from None
    try:
        return parse_rules(data)
    except InvalidRules as exc:
        raise InvalidRules(f"{source}: {exc}") from None


@lru_cache(maxsize=1)
def default_rules() -> ProgrammeRules:
    return load_rules()


def parse_rules(data: dict[str, Any]) -> ProgrammeRules:
    """Validate an already parsed mapping (e.g. from TOML) into ProgrammeRules."""
    root = _Section(data, "")
    programme = root.section("programme")
    rules = ProgrammeRules(
        programme=Programme(name=programme.text("name"), version=programme.text("version")),
        three_level=_three_level(root.section("three_level")),
        quintile=_quintile(root.section("quintile")),
        segments=_segments(root.section("segments")),
        tiers=_tiers(root.table_list("tiers")),
        interests=_interests(root.section("interests")),
        behaviour=_behaviour(root.section("behaviour")),
        epochs=_epochs(root.section("epochs")),
        upkeep=_upkeep(root.section("upkeep")),
        brand_rates=_brand_rates(root.section("brand_rates")),
    )
    root.done()
    top = rules.tiers[0].cashback_bps
    if rules.brand_rates.max_total_bps < top:
        raise InvalidRules(
            f"brand_rates.max_total_bps: must be at least the highest tier's rate ({top}), "
            f"got {rules.brand_rates.max_total_bps}"
        )
    return rules


class _Section:
    """Reads keys of one TOML table, naming the field in every error and refusing unknown keys."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise InvalidRules(f"{path or 'rules'}: must be a table")
        self._data = data
        self._path = path
        self._read: set[str] = set()

    def _field(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _get(self, key: str) -> Any:
        if key not in self._data:
            raise InvalidRules(f"{self._field(key)}: missing")
        self._read.add(key)
        return self._data[key]

    def section(self, key: str) -> _Section:
        return _Section(self._get(key), self._field(key))

    def table_list(self, key: str) -> list[_Section]:
        value = self._get(key)
        if not isinstance(value, list) or not value:
            raise InvalidRules(f"{self._field(key)}: must be a non-empty array of tables")
        return [_Section(item, f"{self._field(key)}[{i}]") for i, item in enumerate(value)]

    def integer(self, key: str, *, minimum: int = 0, maximum: int | None = None) -> int:
        return _integer(self._get(key), self._field(key), minimum, maximum)

    def integers(self, key: str, *, length: int | None = None, minimum: int = 0) -> tuple[int, ...]:
        value = self._get(key)
        field = self._field(key)
        if not isinstance(value, list) or (length is not None and len(value) != length) or not value:
            want = f"{length} integers" if length is not None else "a non-empty array of integers"
            raise InvalidRules(f"{field}: must be {want}, got {value!r}")
        numbers = tuple(_integer(v, f"{field}[{i}]", minimum, None) for i, v in enumerate(value))
        if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
            raise InvalidRules(f"{field}: must be strictly increasing, got {list(numbers)}")
        return numbers

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise InvalidRules(f"{self._field(key)}: must be a non-empty string, got {value!r}")
        return value

    def name(self, key: str) -> str:
        value = self.text(key)
        if not _NAME.match(value):
            raise InvalidRules(
                f"{self._field(key)}: {value!r} must be lower case letters, digits, space, '_' or '-' "
                "(at most 40, starting with a letter)"
            )
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> Any:
        value = self._get(key)
        if value not in options:
            raise InvalidRules(f"{self._field(key)}: must be one of {', '.join(options)}, got {value!r}")
        return value

    def score_range(self, key: str, scheme: Scheme) -> tuple[int, int]:
        value = self._get(key)
        field = self._field(key)
        if not isinstance(value, list) or len(value) != 2:
            raise InvalidRules(f"{field}: must be [lowest, highest] score, got {value!r}")
        top = MAX_SCORE[scheme]
        low = _integer(value[0], f"{field}[0]", 1, top)
        high = _integer(value[1], f"{field}[1]", 1, top)
        if low > high:
            raise InvalidRules(f"{field}: lowest score above highest, got {value!r}")
        return low, high

    def done(self) -> None:
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            raise InvalidRules(f"{self._path or 'rules'}: unknown key(s) {', '.join(unknown)}")


def _integer(value: Any, field: str, minimum: int, maximum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRules(f"{field}: must be an integer, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidRules(f"{field}: must be {bound}, got {value}")
    return value


def _three_level(s: _Section) -> ThreeLevelRules:
    rules = ThreeLevelRules(
        window_days=s.integer("window_days", minimum=1),
        days_per_month=s.integer("days_per_month", minimum=1, maximum=31),
        recency_months=s.integers("recency_months", length=2, minimum=1),  # type: ignore[arg-type]
        frequency_window_months=s.integer("frequency_window_months", minimum=1),
        frequency_min=s.integers("frequency_min", length=2, minimum=2),  # type: ignore[arg-type]
        monetary_min_won=s.integers("monetary_min_won", length=2, minimum=1),  # type: ignore[arg-type]
        monetary=s.choice("monetary", get_args(Monetary)),
    )
    s.done()
    return rules


def _quintile(s: _Section) -> QuintileRules:
    rules = QuintileRules(
        window_days=s.integer("window_days", minimum=1), monetary=s.choice("monetary", get_args(Monetary))
    )
    s.done()
    return rules


def _segments(s: _Section) -> Segments:
    by_scheme: dict[str, tuple[SegmentRule, ...]] = {}
    for scheme in SCHEMES:
        segments = []
        for item in s.table_list(scheme):
            segments.append(
                SegmentRule(name=item.name("name"), r=item.score_range("r", scheme), f=item.score_range("f", scheme))
            )
            item.done()
        top = MAX_SCORE[scheme]
        uncovered = [
            f"(R={r}, F={f})"
            for r in range(1, top + 1)
            for f in range(1, top + 1)
            if not any(g.r[0] <= r <= g.r[1] and g.f[0] <= f <= g.f[1] for g in segments)
        ]
        if uncovered:
            raise InvalidRules(f"segments.{scheme}: no segment for {', '.join(uncovered)}")
        by_scheme[scheme] = tuple(segments)
    s.done()
    return Segments(quintile=by_scheme["quintile"], three_level=by_scheme["three_level"])


def _tiers(items: list[_Section]) -> tuple[TierRule, ...]:
    tiers: list[TierRule] = []
    for item in items:
        conditions = {}
        for scheme in SCHEMES:
            c = item.section(scheme)
            conditions[scheme] = TierCondition(
                min_f=c.integer("min_f", minimum=1, maximum=MAX_SCORE[scheme]),
                min_m=c.integer("min_m", minimum=1, maximum=MAX_SCORE[scheme]),
            )
            c.done()
        tiers.append(
            TierRule(
                name=item.name("name"),
                cashback_bps=item.integer("cashback_bps", maximum=BPS_DENOMINATOR),
                quintile=conditions["quintile"],
                three_level=conditions["three_level"],
            )
        )
        item.done()
    names = [t.name for t in tiers]
    if len(set(names)) != len(names):
        raise InvalidRules(f"tiers: names must be unique, got {names}")
    if any(b.cashback_bps > a.cashback_bps for a, b in zip(tiers, tiers[1:], strict=False)):
        raise InvalidRules("tiers: list the highest tier first; cashback_bps must not increase down the list")
    for scheme in SCHEMES:
        last = tiers[-1].condition(scheme)
        if (last.min_f, last.min_m) != (1, 1):
            raise InvalidRules(
                f"tiers[{len(tiers) - 1}].{scheme}: the last tier must take everyone (min_f = min_m = 1)"
            )
    return tuple(tiers)


def _interests(s: _Section) -> InterestRules:
    w = s.section("weights")
    weights = InterestWeights(**{name: w.integer(name) for name in InterestWeights.__dataclass_fields__})
    w.done()
    rules = InterestRules(
        half_life_days=s.integer("half_life_days", minimum=1),
        max_age_days=s.integer("max_age_days", minimum=1),
        weights=weights,
    )
    s.done()
    return rules


def _behaviour(s: _Section) -> BehaviourRules:
    quiet = s.section("high_value_gone_quiet")
    by_scheme = {}
    for scheme in SCHEMES:
        q = quiet.section(scheme)
        top = MAX_SCORE[scheme]
        by_scheme[scheme] = QuietRule(
            r_max=q.integer("r_max", minimum=1, maximum=top - 1),
            f_min=q.integer("f_min", minimum=1, maximum=top),
            m_min=q.integer("m_min", minimum=1, maximum=top),
        )
        q.done()
    quiet.done()
    rules = BehaviourRules(
        spend_thresholds_won=s.integers("spend_thresholds_won", minimum=1),
        points_thresholds=s.integers("points_thresholds", minimum=1),
        high_value_gone_quiet=HighValueGoneQuiet(quintile=by_scheme["quintile"], three_level=by_scheme["three_level"]),
    )
    s.done()
    return rules


def _epochs(s: _Section) -> EpochRules:
    rules = EpochRules(
        scheme=s.choice("scheme", SCHEMES),
        period_days=s.integer("period_days", minimum=1),
        cash_units_per_won=s.integer("cash_units_per_won", minimum=10_000),
    )
    s.done()
    if rules.cash_units_per_won % 10_000:
        # A basis point of a won is then a whole number of units: cashback is exact, never rounded.
        raise InvalidRules(f"epochs.cash_units_per_won: must be a multiple of 10,000, got {rules.cash_units_per_won}")
    return rules


def _upkeep(s: _Section) -> UpkeepRules:
    fields = s._get("fields")
    if (
        not isinstance(fields, list)
        or not fields
        or any(f not in PERSONAL_FIELDS for f in fields)
        or len(set(fields)) != len(fields)
    ):
        raise InvalidRules(
            f"upkeep.fields: must be distinct personal fields ({', '.join(PERSONAL_FIELDS)}), got {fields!r}"
        )
    rules = UpkeepRules(
        # A TOML integer is 64-bit: at most 2^63 - 1 units (about 9.2 CASH at 18 decimals) per field event.
        reward_units=s.integer("reward_units", maximum=2**63 - 1),
        period_days=s.integer("period_days", minimum=1, maximum=3660),
        reminder_days=s.integer("reminder_days", minimum=1, maximum=3660),
        fields=tuple(fields),
    )
    s.done()
    return rules


def _brand_rates(s: _Section) -> BrandRateBounds:
    value = s._get("categories")
    if not isinstance(value, list) or not value:
        raise InvalidRules(f"brand_rates.categories: must be a non-empty array of names, got {value!r}")
    categories = []
    for i, name in enumerate(value):
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidRules(
                f"brand_rates.categories[{i}]: {name!r} must be lower case letters, digits, space, '_' or '-' "
                "(at most 40, starting with a letter)"
            )
        categories.append(name)
    if len(set(categories)) != len(categories):
        raise InvalidRules(f"brand_rates.categories: names must be unique, got {categories}")
    rules = BrandRateBounds(
        categories=tuple(categories),
        max_extra_bps=s.integer("max_extra_bps", minimum=1, maximum=BPS_DENOMINATOR),
        max_total_bps=s.integer("max_total_bps", minimum=1, maximum=BPS_DENOMINATOR),
        max_rows=s.integer("max_rows", minimum=1, maximum=10_000),
    )
    s.done()
    return rules
