"""Passport MRZ (ICAO Doc 9303 TD3): check digits, parsing and name transliteration."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from anyascii import anyascii

from eta.countries import to_alpha3

TD3_LINE_LENGTH = 44
MRZ_NAME_WIDTH = 39  # TD3 line 1, positions 6-44
_MRZ_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
_WEIGHTS = (7, 3, 1)


def _character_value(character: str) -> int:
    if "0" <= character <= "9":
        return ord(character) - ord("0")
    if "A" <= character <= "Z":
        return ord(character) - ord("A") + 10
    if character == "<":
        return 0
    raise ValueError(f"{character!r} is not an MRZ character (A-Z, 0-9 or <)")


def check_digit(field: str) -> str:
    """The ICAO 9303 check digit of an MRZ field: values 0-9, A-Z=10-35, <=0; weights 7,3,1; mod 10.

    Raises ValueError for a character outside the MRZ alphabet.
    """
    total = sum(_character_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field))
    return str(total % 10)


@dataclass(frozen=True, slots=True)
class MRZError:
    """One problem found in an MRZ; `field` names it in words, e.g. "date of birth check digit"."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


class MRZFormatError(ValueError):
    """Raised when text is not the two 44-character lines of a passport MRZ at all."""

    def __init__(self, errors: list[MRZError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class MRZ:
    """A parsed TD3 (passport) MRZ with the result of each check digit.

    Names use spaces where the MRZ has `<`. Dates are None when the MRZ's digits are not a date.
    """

    line1: str
    line2: str
    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: dt.date | None
    sex: str | None
    expiry_date: dt.date | None
    optional_data: str
    document_number_check_ok: bool
    birth_date_check_ok: bool
    expiry_date_check_ok: bool
    optional_data_check_ok: bool
    composite_check_ok: bool

    @property
    def birth_date_raw(self) -> str:
        """The date of birth as printed (YYMMDD)."""
        return self.line2[13:19]

    @property
    def expiry_date_raw(self) -> str:
        """The expiry date as printed (YYMMDD)."""
        return self.line2[21:27]

    @property
    def check_digits_ok(self) -> bool:
        """True when every check digit, the composite included, is right."""
        return (
            self.document_number_check_ok
            and self.birth_date_check_ok
            and self.expiry_date_check_ok
            and self.optional_data_check_ok
            and self.composite_check_ok
        )


def split_td3_lines(text: str) -> list[str]:
    """Split typed or scanned MRZ text into its lines, upper-cased, stray whitespace removed.

    Accepts lines separated by newlines (LF or CRLF) or by spaces, or the 88 characters run
    together.
    """
    text = text.upper()
    lines = ["".join(line.split()) for line in text.splitlines() if line.strip()]
    if len(lines) == 1:
        tokens = text.split()
        if len(tokens) == 2:
            return tokens
        joined = lines[0]
        if len(joined) == 2 * TD3_LINE_LENGTH:
            return [joined[:TD3_LINE_LENGTH], joined[TD3_LINE_LENGTH:]]
    return lines


def _structure_errors(lines: list[str]) -> list[MRZError]:
    if len(lines) != 2 or any(len(line) != TD3_LINE_LENGTH for line in lines):
        lengths = ", ".join(str(len(line)) for line in lines) or "none"
        return [
            MRZError(
                "line length",
                f"A passport MRZ has two lines of 44 characters; got {len(lines)} line(s) "
                f"of length {lengths}",
            )
        ]
    bad = sorted({c for c in "".join(lines) if c not in _MRZ_ALPHABET})
    if bad:
        shown = " ".join(repr(c) for c in bad[:5])
        return [MRZError("characters", f"The MRZ may hold only A-Z, 0-9 and <; found {shown}")]
    return []


def _parse_yymmdd(digits: str, *, today: dt.date, birth: bool) -> dt.date | None:
    if not re.fullmatch(r"\d{6}", digits):
        return None
    yy, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    year = 2000 + yy
    try:
        candidate = dt.date(year, month, day)
    except ValueError:
        # 29 February of a leap year two-digit-equal to a non-leap one is still a real date
        # in the other century; try it before giving up.
        try:
            return dt.date(year - 100, month, day)
        except ValueError:
            return None
    if birth and candidate > today:
        # Nobody is born in the future, so a YY ahead of this year is last century.
        return candidate.replace(year=year - 100)
    if not birth and year > today.year + 50:
        # A passport is valid for at most ten years; 20YY this far ahead is an old 19YY expiry.
        return candidate.replace(year=year - 100)
    return candidate


def _name_part(field: str) -> str:
    return " ".join(field.replace("<", " ").split())


def parse_td3(text: str, *, today: dt.date | None = None) -> MRZ:
    """Parse the two lines of a passport MRZ; check digits are reported, not enforced.

    Raises MRZFormatError when the text is not two lines of 44 MRZ characters.
    """
    lines = split_td3_lines(text)
    errors = _structure_errors(lines)
    if errors:
        raise MRZFormatError(errors)
    line1, line2 = lines
    today = today or dt.date.today()
    surname_field, _, given_field = line1[5:].partition("<<")
    number_field = line2[0:9]
    optional_field = line2[28:42]
    optional_check = line2[42]
    if optional_field.strip("<") == "" and optional_check == "<":
        # Doc 9303 allows a filler instead of 0 when the personal number is unused.
        optional_ok = True
    else:
        optional_ok = check_digit(optional_field) == optional_check
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    sex_char = line2[20]
    return MRZ(
        line1=line1,
        line2=line2,
        document_type=line1[0:2].replace("<", ""),
        issuing_state=line1[2:5].replace("<", ""),
        surname=_name_part(surname_field),
        given_names=_name_part(given_field),
        document_number=number_field.replace("<", ""),
        nationality=line2[10:13].replace("<", ""),
        birth_date=_parse_yymmdd(line2[13:19], today=today, birth=True),
        sex={"F": "F", "M": "M", "<": "X", "X": "X"}.get(sex_char),
        expiry_date=_parse_yymmdd(line2[21:27], today=today, birth=False),
        optional_data=optional_field.replace("<", ""),
        document_number_check_ok=check_digit(number_field) == line2[9],
        birth_date_check_ok=check_digit(line2[13:19]) == line2[19],
        expiry_date_check_ok=check_digit(line2[21:27]) == line2[27],
        optional_data_check_ok=optional_ok,
        composite_check_ok=check_digit(composite) == line2[43],
    )


def _check_error(name: str, field: str, printed: str) -> MRZError:
    expected = check_digit(field)
    return MRZError(
        f"{name} check digit",
        f"The {name} check digit is {printed}, but {field} gives {expected}",
    )


def validate_td3(text: str, *, today: dt.date | None = None) -> list[MRZError]:
    """Every problem with a passport MRZ, each naming its field in words; [] when it is sound.

    Never raises for any input string.
    """
    lines = split_td3_lines(text)
    errors = _structure_errors(lines)
    if errors:
        return errors
    mrz = parse_td3("\n".join(lines), today=today)
    line2 = mrz.line2
    if not mrz.line1.startswith("P"):
        errors.append(
            MRZError("document type", f"The document type {mrz.line1[:2]!r} is not a passport (P)")
        )
    for label, code in (("issuing state", mrz.issuing_state), ("nationality", mrz.nationality)):
        if to_alpha3(code) is None:
            errors.append(MRZError(label, f"The {label} code {code!r} is not a known country"))
    if not mrz.surname:
        errors.append(MRZError("surname", "The MRZ has no surname"))
    if not mrz.document_number_check_ok:
        errors.append(_check_error("document number", line2[0:9], line2[9]))
    if mrz.birth_date is None:
        errors.append(MRZError("date of birth", f"The date of birth {line2[13:19]} is not a date"))
    if not mrz.birth_date_check_ok:
        errors.append(_check_error("date of birth", line2[13:19], line2[19]))
    if mrz.sex is None:
        errors.append(MRZError("sex", f"The sex {line2[20]!r} is not F, M or <"))
    if mrz.expiry_date is None:
        errors.append(MRZError("expiry date", f"The expiry date {line2[21:27]} is not a date"))
    if not mrz.expiry_date_check_ok:
        errors.append(_check_error("expiry date", line2[21:27], line2[27]))
    if not mrz.optional_data_check_ok:
        errors.append(_check_error("personal number", line2[28:42], line2[42]))
    if not mrz.composite_check_ok:
        errors.append(
            _check_error("composite", line2[0:10] + line2[13:20] + line2[21:43], line2[43])
        )
    return errors


# --- Transliteration (Doc 9303 Part 3, section 6) ------------------------------------------------

# Latin letters whose diacritic ICAO spells out; every other accented Latin letter loses its mark.
_LATIN: dict[str, str] = {
    "Ä": "AE", "Å": "AA", "Æ": "AE", "Ö": "OE", "Ø": "OE", "Ü": "UE", "ß": "SS", "ẞ": "SS",
    "Þ": "TH", "Ð": "D", "Œ": "OE", "Ĳ": "IJ", "Ł": "L", "Đ": "D", "Ħ": "H", "ı": "I",
    "Ŀ": "L", "Ŧ": "T", "Ŋ": "N", "ĸ": "K", "ſ": "S",
}  # fmt: skip

_CYRILLIC: dict[str, str] = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Ґ": "G", "Д": "D", "Ђ": "D", "Ѓ": "G", "Е": "E",
    "Ё": "E", "Є": "IE", "Ж": "ZH", "З": "Z", "Ѕ": "DZ", "И": "I", "І": "I", "Ї": "I", "Й": "I",
    "Ј": "J", "К": "K", "Л": "L", "Љ": "LJ", "М": "M", "Н": "N", "Њ": "NJ", "О": "O", "П": "P",
    "Р": "R", "С": "S", "Т": "T", "Ћ": "C", "Ќ": "K", "У": "U", "Ў": "U", "Ф": "F", "Х": "KH",
    "Ц": "TS", "Ч": "CH", "Џ": "DZ", "Ш": "SH", "Щ": "SHCH", "Ъ": "IE", "Ы": "Y", "Ь": "",
    "Э": "E", "Ю": "IU", "Я": "IA", "Ѫ": "U", "Ѣ": "E", "Ѵ": "Y", "Һ": "H", "Ә": "A",
    "Ғ": "G", "Қ": "K", "Ң": "N", "Ө": "O", "Ү": "U", "Ұ": "U",
}  # fmt: skip

# ELOT 743, as Greek passports print names; the diphthongs are handled in _greek_word.
_GREEK: dict[str, str] = {
    "Α": "A", "Β": "V", "Γ": "G", "Δ": "D", "Ε": "E", "Ζ": "Z", "Η": "I", "Θ": "TH", "Ι": "I",
    "Κ": "K", "Λ": "L", "Μ": "M", "Ν": "N", "Ξ": "X", "Ο": "O", "Π": "P", "Ρ": "R", "Σ": "S",
    "Τ": "T", "Υ": "Y", "Φ": "F", "Χ": "CH", "Ψ": "PS", "Ω": "O", "Ϊ": "I", "Ϋ": "Y",
}  # fmt: skip
_GREEK_VOICELESS = frozenset("ΘΚΞΠΣΤΦΧΨ")

# Doc 9303 Part 3 Arabic table: letters without a close Latin match are escaped with X so the
# Arabic spelling can be recovered from the MRZ.
_ARABIC: dict[str, str] = {
    "ء": "XE", "آ": "XAA", "أ": "XAE", "ؤ": "XW", "إ": "I", "ئ": "XI", "ا": "A", "ب": "B",
    "ة": "XTA", "ت": "T", "ث": "XTH", "ج": "J", "ح": "XH", "خ": "XKH", "د": "D", "ذ": "XDH",
    "ر": "R", "ز": "Z", "س": "S", "ش": "XSH", "ص": "XSS", "ض": "XDZ", "ط": "XTT", "ظ": "XZZ",
    "ع": "E", "غ": "G", "ف": "F", "ق": "Q", "ك": "K", "ل": "L", "م": "M", "ن": "N", "ه": "H",
    "و": "W", "ى": "XAY", "ي": "Y", "ٱ": "XXA", "ٹ": "XXT", "ټ": "XRT", "پ": "P", "ځ": "XKE",
    "څ": "XXH", "چ": "XC", "ڈ": "XXD", "ډ": "XDR", "ڑ": "XXR", "ړ": "XRR", "ږ": "XRX",
    "ژ": "XJ", "ښ": "XXS", "ک": "XKK", "ګ": "XXK", "ڭ": "XNG", "گ": "XGG", "ں": "XNN",
    "ڼ": "XXN", "ھ": "XDO", "ۀ": "XYH", "ہ": "XXG", "ۂ": "XGE", "ۃ": "XTG", "ی": "XYA",
    "ۍ": "XXY", "ې": "Y", "ے": "XYB", "ۓ": "XBE",
}  # fmt: skip
_TEH_MARBUTA_FINAL = "XAH"  # Doc 9303: ة at the end of a name component is XAH, else XTA

_APOSTROPHES = frozenset("'’ʼ‘`´ʻʿʾ")
_HEBREW_LETTERS = range(0x05D0, 0x05EB)
_HEBREW_MARKS = range(0x0591, 0x05C8)
_DAGESH, _SHIN_DOT, _SIN_DOT, _HOLAM = "\u05bc", "\u05c1", "\u05c2", "\u05b9"
_HEBREW_VOWELS = {
    "\u05b1": "E", "\u05b2": "A", "\u05b3": "O", "\u05b4": "I", "\u05b5": "E", "\u05b6": "E",
    "\u05b7": "A", "\u05b8": "A", "\u05b9": "O", "\u05ba": "O", "\u05bb": "U",
}  # fmt: skip
_HEBREW_PLAIN = {
    "ג": "G", "ד": "D", "ה": "H", "ז": "Z", "ח": "CH", "ט": "T", "ל": "L", "מ": "M", "ם": "M",
    "נ": "N", "ן": "N", "ס": "S", "צ": "TZ", "ץ": "TZ", "ק": "K", "ר": "R", "ת": "T",
    "א": "", "ע": "",
}  # fmt: skip
_HEBREW_GERESH = {"ג": "J", "ז": "ZH", "צ": "CH", "ץ": "CH", "ד": "DH", "ת": "T"}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _is_hebrew_letter(c: str) -> bool:
    return ord(c) in _HEBREW_LETTERS


def _hebrew_letter(letter: str, marks: str, initial: bool, final: bool, geresh: bool) -> str:
    if geresh and letter in _HEBREW_GERESH:
        consonant = _HEBREW_GERESH[letter]
    elif letter in "בכךפף":
        # Begadkefat letters are hard after a dagesh, which unpointed text omits at word start.
        hard = _DAGESH in marks or initial
        consonant = {"ב": "BV", "כ": "KCH", "ך": "KCH", "פ": "PF", "ף": "PF"}[letter]
        consonant = consonant[:1] if hard else consonant[1:]
    elif letter == "ש":
        consonant = "S" if _SIN_DOT in marks else "SH"
    elif letter == "ו":
        if _DAGESH in marks and not initial:
            return "U"
        if _HOLAM in marks:
            return "O"
        # Unpointed, a vav inside a word is nearly always the vowel o/u in names (Yosef, Shmuel).
        consonant = "V" if initial else "O"
    elif letter == "י":
        consonant = "Y" if initial else "I"
    else:
        consonant = _HEBREW_PLAIN.get(letter, "")
    vowels = "".join(_HEBREW_VOWELS.get(m, "") for m in marks)
    return consonant + vowels


def _hebrew_word(word: str) -> str:
    out: list[str] = []
    i = 0
    letters_seen = 0
    while i < len(word):
        letter = word[i]
        i += 1
        marks = ""
        while i < len(word) and ord(word[i]) in _HEBREW_MARKS:
            marks += word[i]
            i += 1
        geresh = i < len(word) and word[i] in "\u05f3'"
        if geresh:
            i += 1
        if _is_hebrew_letter(letter):
            final = i >= len(word)
            out.append(_hebrew_letter(letter, marks, letters_seen == 0, final, geresh))
            letters_seen += 1
    return "".join(out)


def _greek_word(word: str) -> str:
    # Strip the tonos but keep the diaeresis, which marks a vowel pair that is not a diphthong.
    decomposed = unicodedata.normalize("NFD", word.upper())
    letters = unicodedata.normalize("NFC", decomposed.replace("\u0301", "").replace("\u0342", ""))
    out: list[str] = []
    i = 0
    while i < len(letters):
        c = letters[i]
        nxt = letters[i + 1] if i + 1 < len(letters) else ""
        after = letters[i + 2] if i + 2 < len(letters) else ""
        if c == "Ο" and nxt == "Υ":
            out.append("OU")
            i += 2
        elif c in "ΑΕΗ" and nxt == "Υ":
            voiceless = after == "" or after in _GREEK_VOICELESS
            out.append(_GREEK[c] + ("F" if voiceless else "V"))
            i += 2
        elif c == "Γ" and nxt in "ΓΞΧ":
            out.append("N")
            i += 1
        else:
            out.append(_GREEK.get(c, ""))
            i += 1
    return "".join(out)


def _arabic_word(word: str) -> str:
    letters = [c for c in word if c in _ARABIC]
    out = []
    for index, c in enumerate(letters):
        if c == "ة" and index == len(letters) - 1:
            out.append(_TEH_MARBUTA_FINAL)
        else:
            out.append(_ARABIC[c])
    return "".join(out)


def _script(c: str) -> str:
    code = ord(c)
    if c.isspace() or c in '-‐‑‒–—_<,./;:()[]"+&':
        return "space"
    if c in _APOSTROPHES:
        return "drop"
    if code < 0x0250 or 0x1E00 <= code < 0x1F00 or c in "ẞ":
        return "latin"
    if 0x0370 <= code < 0x0400 or 0x1F00 <= code < 0x2000:
        return "greek"
    if 0x0400 <= code < 0x0530:
        return "cyrillic"
    if 0x0590 <= code < 0x0600 or 0xFB1D <= code < 0xFB50:
        return "hebrew"
    if 0x0600 <= code < 0x0700 or 0x0750 <= code < 0x0780 or 0xFB50 <= code < 0xFF00:
        return "arabic"
    if unicodedata.category(c).startswith("M"):
        return "mark"
    return "other"


def is_latin_script(text: str) -> bool:
    """Whether every letter of ``text`` is a Latin letter (with or without accents).

    A name written so is what a passport's data page prints, and its MRZ form follows from the
    Doc 9303 Latin table; any other script needs the passport's own Latin spelling instead.
    """
    return all(_script(c) in ("latin", "space", "drop", "mark") for c in text)


def _latin_word(word: str) -> str:
    out = []
    for c in word:
        if c in _LATIN:
            out.append(_LATIN[c])
            continue
        for u in c.upper():
            if u in _LATIN:
                out.append(_LATIN[u])
            else:
                base = "".join(
                    b for b in unicodedata.normalize("NFKD", u) if not unicodedata.combining(b)
                )
                out.append(base if base.isascii() else anyascii(base).upper())
    return "".join(out)


def _other_word(word: str) -> str:
    romanised = anyascii(word)
    # anyascii capitalises each Han and Hangul syllable; keep them as separate name parts
    # ("GIM JEONG EUN") since a name matcher can join tokens more easily than split them.
    return _CAMEL.sub(" ", romanised).upper()


_HANDLERS = {
    "latin": _latin_word,
    "cyrillic": lambda w: "".join(_CYRILLIC.get(c, _latin_word(c)) for c in w.upper()),
    "greek": _greek_word,
    "hebrew": _hebrew_word,
    "arabic": _arabic_word,
    "other": _other_word,
}


def icao_transliterate(text: str) -> str:
    """A name in the MRZ character set per ICAO Doc 9303 Part 3: upper-case A-Z and single spaces.

    Latin diacritics (Ä→AE, Ø→OE, ß→SS, Þ→TH, é→E), Cyrillic (Ж→ZH, Щ→SHCH, Я→IA), Greek
    (ELOT 743), Arabic (the Doc 9303 table: محمد علي → MXHMD ELY) and Hebrew have tables; other
    scripts (Han, Hangul, Kana...) fall back to anyascii. Hyphens become spaces, apostrophes vanish.
    """
    normal = unicodedata.normalize("NFC", text)
    pieces: list[str] = []
    run: list[str] = []
    run_script = ""

    def flush() -> None:
        if run:
            pieces.append(_HANDLERS[run_script]("".join(run)))
            run.clear()

    for c in normal:
        script = _script(c)
        if script == "drop":
            continue
        if script == "mark":
            if run and run_script in ("hebrew", "arabic", "greek"):
                run.append(c)
            continue
        if script == "space":
            flush()
            pieces.append(" ")
            continue
        if script != run_script:
            flush()
            run_script = script
        run.append(c)
    flush()
    letters = re.sub(r"[^A-Z ]+", "", "".join(pieces).upper())
    return " ".join(letters.split())


def _shorten(components: list[str], room: int, keep_first: bool) -> list[str]:
    """Cut letters from the ends of `components` until they take `room` characters with their
    single fillers; the longest are cut first, each keeps at least its initial.

    Doc 9303 Part 4 4.2.3.3(b): BENNELONG WOOLOOMOOLOO WARRANDYTE WARNAMBOOL in 32 characters is
    BENNELONG<WOOLOOM<WARRAND<WARNAM (the first component whole, the rest evened out). Returns
    [] when even initials do not fit.
    """
    parts = list(components)
    if not parts or 2 * len(parts) - 1 > room:
        return []
    while len("<".join(parts)) > room:
        candidates = range(1 if keep_first and len(parts) > 1 else 0, len(parts))
        longest = max(candidates, key=lambda i: (len(parts[i]), i))
        if len(parts[longest]) <= 1:
            if keep_first and len(parts) > 1 and len(parts[0]) > 1:
                parts[0] = parts[0][:-1]
                continue
            return []
        parts[longest] = parts[longest][:-1]
    return parts


def _truncated_secondary(secondary: list[str], room: int) -> list[str]:
    """The given names in `room` characters: Doc 9303 Part 4 4.2.3.2.

    Components from the last are cut down to initials (4.2.3.2(a): CHAYAPA DEJTHAMRONG K) until
    the field fits, and the last one cut gets back as many letters as still fit (4.2.3.2(b):
    ARNPOL PETCH CHARONGU); trailing components are dropped when even initials are too long.
    """
    parts = list(secondary)
    while parts:
        for index in range(len(parts) - 1, -1, -1):
            trial = [*parts[:index], parts[index][:1], *[p[:1] for p in parts[index + 1 :]]]
            if len("<".join(trial)) <= room:
                full = parts[index]
                keep = 1
                while keep < len(full):
                    longer = [*trial[:index], full[: keep + 1], *trial[index + 1 :]]
                    if len("<".join(longer)) > room:
                        break
                    keep += 1
                    trial = longer
                return trial
        parts = parts[:-1]
    return []


def to_mrz_field(surname: str, given_names: str, width: int = MRZ_NAME_WIDTH) -> str:
    """The MRZ name field 'SURNAME<<GIVEN<NAMES', filled with < to `width`, truncated per ICAO.

    Doc 9303 Part 4 4.2.3: a name of `width` characters or fewer (fillers included) is never
    cut. A longer one is cut, secondary identifier (given names) first, down to initials
    (4.2.3.2); when the primary identifier (surname) leaves no room for `<<` and an initial,
    the surname's components are shortened too, the first kept whole where it can be
    (4.2.3.3(b)), so that at least the first given name's initial follows the `<<`. A truncated
    field always ends on a letter, which is how a reader knows it may be truncated.
    """
    primary = icao_transliterate(surname).split()
    secondary = icao_transliterate(given_names).split()
    if not primary and secondary:
        primary, secondary = secondary, []  # a single-name holder's name is the primary
    primary_text = "<".join(primary)
    full = primary_text + ("<<" + "<".join(secondary) if secondary else "")
    if len(full) <= width:
        return full.ljust(width, "<")
    if not secondary:
        cut = _shorten(primary, width, keep_first=True) or [primary_text[:width]]
        return "<".join(cut)[:width].rstrip("<").ljust(width, "<")
    room = width - len(primary_text) - 2
    if room >= 1:
        given = _truncated_secondary(secondary, room)
        return (primary_text + "<<" + "<".join(given)).ljust(width, "<")
    # The surname takes (nearly) the whole field: shorten it, leaving `<<` and the first given
    # name (or as much of it as 4.2.3.3(b) allows, at least its initial).
    first = secondary[0]
    for given_letters in range(len(first), 0, -1):
        surname_room = width - 2 - given_letters
        cut = _shorten(primary, surname_room, keep_first=True)
        if cut and all(len(c) >= min(len(o), 2) for c, o in zip(cut, primary, strict=True)):
            return "<".join(cut) + "<<" + first[:given_letters]
    cut = _shorten(primary, width - 3, keep_first=True) or [primary_text[: width - 3]]
    return ("<".join(cut) + "<<" + first[:1])[:width]


def split_mrz_field(field: str) -> tuple[str, str]:
    """(surname, given names) of an MRZ name field, fillers as single spaces."""
    primary, _, secondary = field.partition("<<")
    return _name_part(primary), _name_part(secondary)


def is_mrz_form_of(field_names: tuple[str, str], surname: str, given_names: str) -> bool:
    """Whether (surname, given names) as an MRZ shows them may be the full name given.

    Equal, or cut short as Doc 9303 Part 4 4.2.3 cuts a name: each component shown is the start
    of the full one, in order, and trailing components may be missing. Both sides in MRZ
    letters with single spaces (see :func:`icao_transliterate`).
    """

    def abbreviates(shown: str, full: str) -> bool:
        shown_parts, full_parts = shown.split(), full.split()
        if len(shown_parts) > len(full_parts):
            return False
        return all(f.startswith(s) for s, f in zip(shown_parts, full_parts, strict=False))

    shown_surname, shown_given = field_names
    surname, given_names = " ".join(surname.split()), " ".join(given_names.split())
    if (shown_surname, shown_given) == (surname, given_names):
        return True
    return bool(shown_surname) and (
        abbreviates(shown_surname, surname) and abbreviates(shown_given, given_names)
    )


def mrz_name_parts(surname: str, given_names: str) -> tuple[str, str]:
    """(surname, given names) as a passport's TD3 MRZ prints them, fillers as single spaces.

    The name field of :func:`to_mrz_field` (truncated as Doc 9303 truncates it), split again.
    """
    return split_mrz_field(to_mrz_field(surname, given_names))
