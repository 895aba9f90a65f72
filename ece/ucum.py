"""UCUM, the Unified Code for Units of Measure (case-sensitive symbols), reduced to base units for quantity
search: R4 search.html#quantity lets a server compare a search in UCUM with values stored in any commensurable
unit, so ``5.40e-3|http://unitsofmeasure.org|g`` also finds 5.4 mg.

``conversion(code)`` parses a unit expression by the UCUM grammar (§§7-10: ``.`` and ``/`` from left to right,
integer exponents, parentheses, annotations in braces that mean nothing, integer factors, ``10*3``) with metric
prefixes (§2.1.2: the longest prefix whose remainder is a metric atom) and answers how a value in that unit becomes
a value in base units, and which base units: 5 mg/dL, 50 mg/L and 0.05 g/L all become 50 g.m-3. Factors are exact
fractions, so decimal definitions convert exactly. An expression this table cannot read has no canonical form
(None); its quantities are then matched as written.

Choices where UCUM leaves room or where following it would hurt a clinical search:
- The mole is a base unit of its own. UCUM defines it as the number 6.0221367e23, which would make mmol/L
  commensurable with a cell count (10*9/L) and U (umol/min) with Hz. Amounts of substance still convert among
  themselves (mmol/L, umol/L, meq/L, mosm/kg, U, kat); without a molar mass never to grams.
- An arbitrary unit (UCUM §24: [iU], [CFU], [arb'U]...) is a dimension of its own: m[IU]/mL converts to [IU]/L,
  which differ only by a prefix and a volume, never to another arbitrary unit.
- Special units (UCUM §§21-22) convert only on their own, with an optional prefix, factor or annotation: Cel and
  [degF] become kelvin by their offsets. UCUM allows no algebra on them (Cel/h has no meaning), and the
  logarithmic ones ([pH], B, Np) are not converted at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cache, lru_cache

UCUM_SYSTEM = "http://unitsofmeasure.org"

MAX_CODE_LENGTH = 100  # longer than any clinical unit; bounds the parser's work on a search value
MAX_EXPONENT = 24  # |n| in m3 or 10*-12; keeps 10*999999999 from being computed
DECIMAL_DIGITS = 40  # significant digits of a canonical value that is not a finite decimal ([degF], [pi])
MAX_MAGNITUDE = 300  # values beyond 10^±300 are not converted: no unit needs them, and their fractions are costly

_PREFIXES = {"Y": 24, "Z": 21, "E": 18, "P": 15, "T": 12, "G": 9, "M": 6, "k": 3, "h": 2, "da": 1, "d": -1,
             "c": -2, "m": -3, "u": -6, "n": -9, "p": -12, "f": -15, "a": -18, "z": -21, "y": -24}

# UCUM's base units (all metric), with the mole added (see above).
_BASE = frozenset({"m", "s", "g", "rad", "K", "C", "cd", "mol"})

# Arbitrary units (UCUM §24): symbol -> metric.
_ARBITRARY = {
    "[iU]": True, "[arb'U]": False, "[USP'U]": False, "[GPL'U]": False, "[MPL'U]": False, "[APL'U]": False,
    "[beth'U]": False, "[anti'Xa'U]": False, "[todd'U]": False, "[dye'U]": False, "[smgy'U]": False,
    "[bdsk'U]": False, "[ka'U]": False, "[knk'U]": False, "[mclg'U]": False, "[tb'U]": False, "[CCID_50]": False,
    "[TCID_50]": False, "[EID_50]": False, "[PFU]": False, "[FFU]": False, "[CFU]": False, "[IR]": False,
    "[BAU]": False, "[AU]": False, "[Amb'a'1'U]": False, "[PNU]": False, "[Lf]": False, "[D'ag'U]": False,
    "[FEU]": False, "[ELU]": False, "[EU]": False,
}

# Special units on an interval scale (UCUM §21): symbol -> (metric, kelvin per unit, kelvin at zero).
_SPECIAL = {
    "Cel": (True, Fraction(1), Fraction("273.15")),
    "[degF]": (False, Fraction(5, 9), Fraction("459.67") * Fraction(5, 9)),
}

# Unit atoms defined from others (UCUM's tables): symbol -> (metric, magnitude, definition).
_DEFINED: dict[str, tuple[bool, str, str]] = {
    # dimensionless
    "10*": (False, "10", "1"), "10^": (False, "10", "1"),
    "[pi]": (False, "3.14159265358979323846264338327950288419716939937510582097494459", "1"),
    "%": (False, "1", "10*-2"), "[ppth]": (False, "1", "10*-3"), "[ppm]": (False, "1", "10*-6"),
    "[ppb]": (False, "1", "10*-9"), "[pptr]": (False, "1", "10*-12"),
    "[HPF]": (False, "1", "1"), "[LPF]": (False, "100", "1"), "[hnsf'U]": (False, "1", "1"),
    "[IU]": (True, "1", "[iU]"),
    # SI derived units
    "sr": (True, "1", "rad2"), "Hz": (True, "1", "s-1"), "N": (True, "1", "kg.m/s2"), "Pa": (True, "1", "N/m2"),
    "J": (True, "1", "N.m"), "W": (True, "1", "J/s"), "A": (True, "1", "C/s"), "V": (True, "1", "J/C"),
    "F": (True, "1", "C/V"), "Ohm": (True, "1", "V/A"), "S": (True, "1", "Ohm-1"), "Wb": (True, "1", "V.s"),
    "T": (True, "1", "Wb/m2"), "H": (True, "1", "Wb/A"), "lm": (True, "1", "cd.sr"), "lx": (True, "1", "lm/m2"),
    "Bq": (True, "1", "s-1"), "Gy": (True, "1", "J/kg"), "Sv": (True, "1", "J/kg"),
    # angles, volume, time (ISO 1000)
    "gon": (False, "0.9", "deg"), "deg": (False, "2", "[pi].rad/360"), "'": (False, "1", "deg/60"),
    "''": (False, "1", "'/60"), "circ": (False, "2", "[pi].rad"), "sph": (False, "4", "[pi].sr"),
    "l": (True, "1", "dm3"), "L": (True, "1", "l"), "ar": (True, "100", "m2"), "st": (True, "1", "m3"),
    "min": (False, "60", "s"), "h": (False, "60", "min"), "d": (False, "24", "h"), "wk": (False, "7", "d"),
    "a_t": (False, "365.24219", "d"), "a_j": (False, "365.25", "d"), "a_g": (False, "365.2425", "d"),
    "a": (False, "1", "a_j"), "mo_s": (False, "29.53059", "d"), "mo_j": (False, "1", "a_j/12"),
    "mo_g": (False, "1", "a_g/12"), "mo": (False, "1", "mo_j"),
    "t": (True, "1e3", "kg"), "bar": (True, "1e5", "Pa"), "u": (True, "1.6605402e-24", "g"),
    "Ao": (False, "0.1", "nm"), "atm": (False, "101325", "Pa"),
    # constants and units from them
    "[e]": (True, "1.60217733e-19", "C"), "eV": (True, "1", "[e].V"), "[g]": (True, "9.80665", "m/s2"),
    "gf": (True, "1", "g.[g]"), "[lbf_av]": (False, "1", "[lb_av].[g]"), "[psi]": (False, "1", "[lbf_av]/[in_i]2"),
    "att": (False, "1", "kgf/cm2"),
    # CGS
    "dyn": (True, "1", "g.cm/s2"), "erg": (True, "1", "dyn.cm"), "P": (True, "1", "dyn.s/cm2"),
    "St": (True, "1", "cm2/s"), "Ci": (True, "3.7e10", "Bq"), "R": (True, "2.58e-4", "C/kg"),
    "RAD": (True, "100", "erg/g"), "REM": (True, "1", "RAD"), "G": (True, "1e-4", "T"),
    # international customary units
    "[in_i]": (False, "2.54", "cm"), "[ft_i]": (False, "12", "[in_i]"), "[yd_i]": (False, "3", "[ft_i]"),
    "[mi_i]": (False, "5280", "[ft_i]"), "[nmi_i]": (False, "1852", "m"), "[sin_i]": (False, "1", "[in_i]2"),
    "[sft_i]": (False, "1", "[ft_i]2"), "[cin_i]": (False, "1", "[in_i]3"), "[cft_i]": (False, "1", "[ft_i]3"),
    "[mil_i]": (False, "1e-3", "[in_i]"),
    # US and British volumes
    "[gal_us]": (False, "231", "[in_i]3"), "[qt_us]": (False, "1", "[gal_us]/4"),
    "[pt_us]": (False, "1", "[qt_us]/2"), "[gil_us]": (False, "1", "[pt_us]/4"),
    "[foz_us]": (False, "1", "[gil_us]/4"), "[fdr_us]": (False, "1", "[foz_us]/8"),
    "[min_us]": (False, "1", "[fdr_us]/60"), "[tbs_us]": (False, "1", "[foz_us]/2"),
    "[tsp_us]": (False, "1", "[tbs_us]/3"), "[cup_us]": (False, "16", "[tbs_us]"),
    "[gal_br]": (False, "4.54609", "l"), "[qt_br]": (False, "1", "[gal_br]/4"), "[pt_br]": (False, "1", "[qt_br]/2"),
    "[gil_br]": (False, "1", "[pt_br]/4"), "[foz_br]": (False, "1", "[gil_br]/5"),
    # avoirdupois, troy and apothecaries' masses
    "[gr]": (False, "64.79891", "mg"), "[lb_av]": (False, "7000", "[gr]"), "[oz_av]": (False, "1", "[lb_av]/16"),
    "[dr_av]": (False, "1", "[oz_av]/16"), "[stone_av]": (False, "14", "[lb_av]"),
    "[pwt_tr]": (False, "24", "[gr]"), "[oz_tr]": (False, "20", "[pwt_tr]"), "[lb_tr]": (False, "12", "[oz_tr]"),
    "[sc_ap]": (False, "20", "[gr]"), "[dr_ap]": (False, "3", "[sc_ap]"), "[oz_ap]": (False, "8", "[dr_ap]"),
    "[lb_ap]": (False, "12", "[oz_ap]"), "[car_m]": (False, "0.2", "g"),
    # heat
    "[degR]": (False, "5", "K/9"), "cal_[15]": (True, "4.18580", "J"), "cal_[20]": (True, "4.18190", "J"),
    "cal_m": (True, "4.19002", "J"), "cal_IT": (True, "4.1868", "J"), "cal_th": (True, "4.184", "J"),
    "cal": (True, "1", "cal_th"), "[Cal]": (False, "1", "kcal_th"), "[Btu_IT]": (False, "1.05505585262", "kJ"),
    "[Btu_th]": (False, "1.054350", "kJ"), "[Btu]": (False, "1", "[Btu_th]"),
    # clinical
    "m[H2O]": (True, "9.80665", "kPa"), "m[Hg]": (True, "133.3220", "kPa"),
    "[in_i'H2O]": (False, "1", "m[H2O].[in_i]/m"), "[in_i'Hg]": (False, "1", "m[Hg].[in_i]/m"),
    "[PRU]": (False, "1", "mm[Hg].s/ml"), "[wood'U]": (False, "1", "mm[Hg].min/L"), "[diop]": (False, "1", "/m"),
    "[mesh_i]": (False, "1", "/[in_i]"), "[Ch]": (False, "1", "mm/3"), "[drp]": (False, "1", "ml/20"),
    "[MET]": (False, "3.5", "mL/min/kg"), "[tsp_m]": (False, "5", "mL"), "[tbs_m]": (False, "15", "mL"),
    # chemical
    "eq": (True, "1", "mol"), "osm": (True, "1", "mol"), "g%": (True, "1", "g/dl"), "[S]": (False, "1", "10*-13.s"),
    "kat": (True, "1", "mol/s"), "U": (True, "1", "umol/min"),
}


@dataclass(frozen=True)
class Conversion:
    """How a value in some unit becomes a value in base units: ``value * scale + offset`` in ``unit``."""

    scale: Fraction
    unit: str
    offset: Fraction = Fraction(0)
    # The scale as a Decimal when it is a finite decimal and there is no offset (mg, dL, mm[Hg], [lb_av]...):
    # then one Decimal product, rounded as the division of the exact fraction would be, replaces the Fraction
    # arithmetic, which cost some 10 µs per indexed quantity.
    decimal_scale: Decimal | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decimal_scale", None if self.offset else _finite_decimal(self.scale))

    def canonical(self, value: Decimal) -> Decimal:
        with localcontext(prec=DECIMAL_DIGITS):
            if self.decimal_scale is not None:
                return value * self.decimal_scale
            exact = Fraction(value) * self.scale + self.offset
            return Decimal(exact.numerator) / Decimal(exact.denominator)


def _finite_decimal(fraction: Fraction) -> Decimal | None:
    """``fraction`` as an exact Decimal, or None when its decimal expansion does not end (a denominator with a
    prime factor other than 2 and 5)."""
    rest = fraction.denominator
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    if rest != 1:
        return None
    with localcontext(prec=len(str(fraction.numerator)) + len(str(fraction.denominator)) * 2):
        return Decimal(fraction.numerator) / Decimal(fraction.denominator)


def canonical(value: Decimal, code: str) -> tuple[Decimal, str] | None:
    """(value in base units, base units) of a value in the UCUM unit ``code``, or None when the code has no
    canonical form here."""
    found = conversion(code)
    if found is None or not within_magnitude(value):
        return None
    converted = found.canonical(value)
    return (converted, found.unit) if within_magnitude(converted) else None


def within_magnitude(value: Decimal) -> bool:
    """Whether a value is one a unit conversion handles (its exact fraction stays small)."""
    return value.is_finite() and (not value or abs(value.adjusted()) <= MAX_MAGNITUDE)


@lru_cache(maxsize=4096)
def conversion(code: str) -> Conversion | None:
    """How values in the UCUM unit ``code`` become values in base units; None when the code is not UCUM (or uses
    atoms outside this table)."""
    if not code or len(code) > MAX_CODE_LENGTH or not code.isascii():  # UCUM §2.1.1: ASCII only
        return None
    try:
        term = _Parser(code).main_term()
    except _Unreadable:
        return None
    if term.special is not None:
        _metric, kelvin, zero = _SPECIAL[term.special]
        return Conversion(term.factor * kelvin, "K", zero)
    return Conversion(term.factor, _unit_string(term.dims))


def _unit_string(dims: Iterable[tuple[str, int]]) -> str:
    """The canonical unit: base units in code-point order, exponents after them (``g.m-3``); ``1`` for none."""
    return ".".join(base if n == 1 else f"{base}{n}" for base, n in sorted(dims)) or "1"


class _Unreadable(Exception):
    """Not a UCUM expression this table can read."""


@dataclass(frozen=True)
class _Term:
    """A unit as a magnitude and powers of base units; ``special`` names a special unit it is a multiple of."""

    factor: Fraction
    dims: tuple[tuple[str, int], ...] = ()
    special: str | None = None

    def times(self, other: _Term, power: int = 1) -> _Term:
        if self.special is not None and other.special is not None:
            raise _Unreadable
        # UCUM §22: a special unit may only be multiplied (or divided) by a number, never by a unit or inverted.
        if (other.special is not None and (power < 0 or self.dims)) or (self.special is not None and other.dims):
            raise _Unreadable
        dims = dict(self.dims)
        for base, n in other.dims:
            dims[base] = dims.get(base, 0) + n * power
        return _Term(self.factor * other.factor ** power, tuple((b, n) for b, n in dims.items() if n),
                     self.special or other.special)

    def power(self, exponent: int) -> _Term:
        if self.special is not None and exponent != 1:
            raise _Unreadable
        return _Term(Fraction(1)).times(self, exponent)


_EXPONENT = re.compile(r"(.+?)([+-]?\d+)?")
_SYMBOL_END = frozenset("./(){}")


class _Parser:
    """Recursive descent over UCUM's grammar (Exhibit 1 of the specification)."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def main_term(self) -> _Term:
        if self._peek() == "/":
            self.at += 1
            term = _Term(Fraction(1)).times(self._term(), -1)
        else:
            term = self._term()
        if self.at != len(self.text):
            raise _Unreadable
        return term

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _term(self) -> _Term:
        term = self._component()
        while self._peek() in (".", "/"):
            operator = self._peek()
            self.at += 1
            term = term.times(self._component(), 1 if operator == "." else -1)
        return term

    def _component(self) -> _Term:
        if self._peek() == "(":
            self.at += 1
            term = self._term()
            if self._peek() != ")":
                raise _Unreadable
            self.at += 1
            return term
        if self._peek() == "{":
            self._annotation()
            return _Term(Fraction(1))
        symbol = self._symbol()
        if self._peek() == "{":
            self._annotation()
        if symbol.isdigit():
            return _Term(Fraction(int(symbol)))
        match = _EXPONENT.fullmatch(symbol)
        if match is None or match[1][-1].isdigit():
            raise _Unreadable
        exponent = int(match[2]) if match[2] else 1
        if abs(exponent) > MAX_EXPONENT:
            raise _Unreadable
        return _simple_unit(match[1]).power(exponent)

    def _symbol(self) -> str:
        """The characters of one simple unit with its exponent: up to an operator, parenthesis or brace outside
        square brackets (UCUM §2.1.3: brackets belong to the atom and may hold any character)."""
        start, bracketed = self.at, False
        while self.at < len(self.text):
            ch = self.text[self.at]
            if ch == "[":
                bracketed = True
            elif ch == "]":
                bracketed = False
            elif ch in _SYMBOL_END and not bracketed:
                break
            self.at += 1
        if bracketed or self.at == start:
            raise _Unreadable
        return self.text[start:self.at]

    def _annotation(self) -> None:
        """``{...}`` means nothing (UCUM §12); it holds no braces."""
        end = self.text.find("}", self.at)
        if end < 0 or "{" in self.text[self.at + 1:end]:
            raise _Unreadable
        self.at = end + 1


@cache
def _simple_unit(symbol: str) -> _Term:
    """An atom with an optional prefix: the longest prefix whose remainder is a metric atom, else the whole
    symbol as an atom (UCUM §2.1.2), so ``cd`` is the candela, not a centi-day (the day is not metric)."""
    for prefix in sorted(_PREFIXES, key=len, reverse=True):
        if symbol.startswith(prefix) and len(symbol) > len(prefix) and _is_metric(symbol[len(prefix):]):
            return _Term(Fraction(10) ** _PREFIXES[prefix]).times(_atom(symbol[len(prefix):]))
    return _atom(symbol)


def _is_metric(atom: str) -> bool:
    if atom in _BASE:
        return True
    if atom in _ARBITRARY:
        return _ARBITRARY[atom]
    entry = _DEFINED.get(atom) or _SPECIAL.get(atom)
    return entry is not None and entry[0]


@cache
def _atom(atom: str) -> _Term:
    if atom in _BASE or atom in _ARBITRARY:
        return _Term(Fraction(1), ((atom, 1),))
    if atom in _SPECIAL:
        return _Term(Fraction(1), (), atom)
    if atom not in _DEFINED:
        raise _Unreadable
    _metric, magnitude, definition = _DEFINED[atom]
    return _Term(Fraction(magnitude)).times(_Parser(definition).main_term())
