"""The printable authorisation: an A4 PDF with the holder's details and the signed QR code."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import arabic_reshaper
from bidi import get_display
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from eta.issuance.qr import QUIET_ZONE, dark_runs, encode

_FONT_DIRS = (
    Path(__file__).resolve().parent / "fonts",
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian's fonts-dejavu-core, if not vendored
)
QR_WIDTH = 52 * mm  # the symbol without its quiet zone; SPEC asks at least 40 mm

DEFAULT_LABELS: dict[str, str] = {
    "document_title": "Electronic Travel Authorisation",
    "reference": "Reference",
    "surname": "Surname (as in passport)",
    "given_names": "Given names (as in passport)",
    "name_as_entered": "Name as entered in the application",
    "name_not_printable": "(in a script this document cannot print: see the names above)",
    "date_of_birth": "Date of birth",
    "passport_number": "Passport number",
    "issuing_country": "Issuing country",
    "valid_from": "Valid from",
    "valid_until": "Valid until",
    "entries": "Number of entries",
    "entries_multiple": "Multiple",
    "qr_caption": "Signed authorisation: scan to check",
    "how_to_verify": "How to check this authorisation",
    "verify_instructions": (
        "Airlines, ferry and train operators check this authorisation electronically from your "
        "passport. Anyone can check it by scanning the QR code or entering the reference at:"
    ),
    "notice": (
        "This authorisation is linked to the passport shown above. Travel with that passport. "
        "An authorisation allows you to travel; it does not guarantee entry."
    ),
    "none": "None",
}

FRENCH_LABELS: dict[str, str] = {
    "document_title": "Autorisation de voyage électronique",
    "reference": "Référence",
    "surname": "Nom (comme sur le passeport)",
    "given_names": "Prénoms (comme sur le passeport)",
    "name_as_entered": "Nom saisi dans la demande",
    "name_not_printable": (
        "(dans une écriture que ce document ne peut pas imprimer : voir plus haut)"
    ),
    "date_of_birth": "Date de naissance",
    "passport_number": "Numéro de passeport",
    "issuing_country": "Pays de délivrance",
    "valid_from": "Valable à partir du",
    "valid_until": "Valable jusqu’au",
    "entries": "Nombre d’entrées",
    "entries_multiple": "Multiples",
    "qr_caption": "Autorisation signée : à scanner pour vérifier",
    "how_to_verify": "Comment vérifier cette autorisation",
    "verify_instructions": (
        "Les compagnies aériennes, maritimes et ferroviaires vérifient cette autorisation "
        "électroniquement à partir de votre passeport. Chacun peut la vérifier en scannant le "
        "code QR ou en saisissant la référence sur :"
    ),
    "notice": (
        "Cette autorisation est liée au passeport indiqué ci-dessus. Voyagez avec ce passeport. "
        "Une autorisation permet de voyager ; elle ne garantit pas l’entrée sur le territoire."
    ),
    "none": "Aucun",
}

SPANISH_LABELS: dict[str, str] = {
    "document_title": "Autorización electrónica de viaje",
    "reference": "Referencia",
    "surname": "Apellidos (como en el pasaporte)",
    "given_names": "Nombre (como en el pasaporte)",
    "name_as_entered": "Nombre introducido en la solicitud",
    "name_not_printable": (
        "(en una escritura que este documento no puede imprimir: vea los nombres anteriores)"
    ),
    "date_of_birth": "Fecha de nacimiento",
    "passport_number": "Número de pasaporte",
    "issuing_country": "País de expedición",
    "valid_from": "Válida desde",
    "valid_until": "Válida hasta",
    "entries": "Número de entradas",
    "entries_multiple": "Múltiples",
    "qr_caption": "Autorización firmada: escanee para comprobarla",
    "how_to_verify": "Cómo comprobar esta autorización",
    "verify_instructions": (
        "Las compañías aéreas, navieras y ferroviarias comprueban esta autorización por medios "
        "electrónicos a partir de su pasaporte. Cualquier persona puede comprobarla escaneando "
        "el código QR o introduciendo la referencia en:"
    ),
    "notice": (
        "Esta autorización está vinculada al pasaporte indicado arriba. Viaje con ese "
        "pasaporte. Una autorización le permite viajar; no garantiza la entrada."
    ),
    "none": "Ninguno",
}

GERMAN_LABELS: dict[str, str] = {
    "document_title": "Elektronische Reisegenehmigung",
    "reference": "Referenznummer",
    "surname": "Nachname (wie im Reisepass)",
    "given_names": "Vornamen (wie im Reisepass)",
    "name_as_entered": "Name wie im Antrag eingegeben",
    "name_not_printable": (
        "(in einer Schrift, die dieses Dokument nicht drucken kann: siehe die Namen oben)"
    ),
    "date_of_birth": "Geburtsdatum",
    "passport_number": "Reisepassnummer",
    "issuing_country": "Ausstellendes Land",
    "valid_from": "Gültig ab",
    "valid_until": "Gültig bis",
    "entries": "Anzahl der Einreisen",
    "entries_multiple": "Mehrfach",
    "qr_caption": "Signierte Genehmigung: zum Prüfen scannen",
    "how_to_verify": "So prüfen Sie diese Genehmigung",
    "verify_instructions": (
        "Fluggesellschaften, Fähr- und Bahnunternehmen prüfen diese Genehmigung elektronisch "
        "anhand Ihres Reisepasses. Jede Person kann sie prüfen, indem sie den QR-Code scannt "
        "oder die Referenznummer hier eingibt:"
    ),
    "notice": (
        "Diese Genehmigung ist mit dem oben angegebenen Reisepass verknüpft. Reisen Sie mit "
        "diesem Reisepass. Eine Genehmigung erlaubt Ihnen die Reise; sie garantiert nicht die "
        "Einreise."
    ),
    "none": "Keine",
}

LABELS_BY_LANGUAGE: dict[str, dict[str, str]] = {"en": DEFAULT_LABELS, "fr": FRENCH_LABELS}
LABELS_BY_LANGUAGE.update(es=SPANISH_LABELS, de=GERMAN_LABELS)


@dataclass(frozen=True)
class AuthorisationDocument:
    """Everything printed on the authorisation.

    ``surname``/``given_names`` are the names as the traveller typed them (any script);
    the ``*_mrz`` forms are those in the token. ``issuing_country`` is what to print (a
    country name in the reader's language, or the alpha-3 code).
    """

    service_name: str
    reference: str
    surname_mrz: str
    given_names_mrz: str
    surname: str
    given_names: str
    date_of_birth: date
    passport_number: str
    issuing_country: str
    valid_from: datetime
    valid_until: datetime
    token: str
    verify_url: str


def iso_date(value: date) -> str:
    """Dates as YYYY-MM-DD: unambiguous to every reader when no locale formatter is given."""
    return value.isoformat()


def _utc_date_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class _Fonts:
    regular: str
    bold: str


@cache
def _fonts() -> _Fonts:
    """Register DejaVu Sans (Latin, Greek, Cyrillic, Arabic, Hebrew, Armenian, Georgian...)."""
    for directory in _FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("EtaSans", str(regular)))
            pdfmetrics.registerFont(TTFont("EtaSans-Bold", str(bold)))
            return _Fonts("EtaSans", "EtaSans-Bold")
    # Without DejaVu only Latin-1 names print correctly; MRZ forms always do.
    return _Fonts("Helvetica", "Helvetica-Bold")


def _printable(text: str, font: str) -> str | None:
    """``text`` ready to draw in ``font``, or None when the font lacks some of its letters.

    reportlab draws characters one by one, left to right, as they come: Arabic letters would
    stand apart in their isolated forms and right-to-left names would read backwards. So
    Arabic is shaped into its joined forms and right-to-left runs put in visual order (the
    Unicode bidirectional algorithm). A name in a script the font does not have (DejaVu has
    no CJK) is not printed as empty boxes.
    """
    if any(unicodedata.bidirectional(character) in ("R", "AL") for character in text):
        text = get_display(arabic_reshaper.reshape(text))
    face = getattr(pdfmetrics.getFont(font), "face", None)
    glyphs = getattr(face, "charToGlyph", None)
    if glyphs is not None and any(
        ord(character) not in glyphs for character in text if not character.isspace()
    ):
        return None
    return text


def _labels(labels: Mapping[str, str] | str | None) -> dict[str, str]:
    if labels is None:
        return dict(DEFAULT_LABELS)
    if isinstance(labels, str):
        language = labels.split("-")[0].lower()
        return dict(LABELS_BY_LANGUAGE.get(language, DEFAULT_LABELS))
    return {**DEFAULT_LABELS, **labels}


class _Writer:
    """Draws text top-down on one page, wrapping to the column it is given."""

    def __init__(self, canvas: Canvas, fonts: _Fonts) -> None:
        self.canvas = canvas
        self.fonts = fonts

    def text(
        self, x: float, y: float, width: float, text: str, size: float, bold: bool = False
    ) -> float:
        """Draw wrapped text with its first baseline at ``y``; return the y below it."""
        font = self.fonts.bold if bold else self.fonts.regular
        leading = size * 1.3
        self.canvas.setFont(font, size)
        for line in simpleSplit(text, font, size, width) or [""]:
            self.canvas.drawString(x, y, line)
            y -= leading
        return y

    def field(self, x: float, y: float, width: float, label: str, value: str) -> float:
        """A small label over its value; return the y of the next field."""
        y = self.text(x, y, width, label, 8.5)
        y = self.text(x, y - 1, width, value, 12, bold=True)
        return y - 3 * mm


def _draw_qr(canvas: Canvas, token: str, right: float, top: float) -> float:
    """Draw the QR symbol as vector rectangles, its quiet zone's top-right corner at
    (``right``, ``top``); return its full width (quiet zone included).
    """
    symbol = encode(token)
    module = QR_WIDTH / (symbol.size - 2 * QUIET_ZONE)
    full = module * symbol.size
    left = right - full
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(left, top - full, full, full, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for row, column, length in dark_runs(symbol):
        path.rect(left + column * module, top - (row + 1) * module, length * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
    return full


def authorisation_pdf(
    data: AuthorisationDocument,
    labels: Mapping[str, str] | str | None = None,
    format_date: Callable[[date], str] = iso_date,
) -> bytes:
    """Render the authorisation as a one-page A4 PDF, in black on white.

    ``labels`` is either a mapping of translated label texts (missing ones fall back to
    English; see :data:`DEFAULT_LABELS` for the keys) or a language code ("en", "de"...).
    ``format_date`` formats dates for the reader's locale.
    """
    text = _labels(labels)
    fonts = _fonts()
    buffer = io.BytesIO()
    # invariant: no creation timestamp or random id, so the same input gives the same bytes.
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    # The metadata stays free of personal data: PDFs get forwarded and indexed.
    canvas.setTitle(f"{text['document_title']} {data.reference}")
    canvas.setAuthor(data.service_name)
    canvas.setSubject(text["document_title"])
    writer = _Writer(canvas, fonts)

    page_width, page_height = A4
    margin = 18 * mm
    content_width = page_width - 2 * margin
    y = page_height - margin - 4 * mm

    y = writer.text(margin, y, content_width, data.service_name, 13, bold=True)
    y = writer.text(margin, y - 1 * mm, content_width, text["document_title"], 22, bold=True)
    canvas.setLineWidth(1.2)
    canvas.line(margin, y, page_width - margin, y)
    y -= 9 * mm

    y = writer.text(margin, y, content_width, text["reference"], 9)
    y = writer.text(margin, y - 2 * mm, content_width, data.reference, 20, bold=True)
    top = y - 4 * mm

    drawn = _draw_qr(canvas, data.token, page_width - margin, top)
    column_width = content_width - drawn - 4 * mm
    writer.text(page_width - margin - drawn, top - drawn - 2 * mm, drawn, text["qr_caption"], 8.5)

    y = top - 5 * mm
    y = writer.field(margin, y, column_width, text["surname"], data.surname_mrz)
    y = writer.field(
        margin, y, column_width, text["given_names"], data.given_names_mrz or text["none"]
    )
    as_entered = " ".join(part for part in (data.given_names, data.surname) if part)
    printable = _printable(as_entered, fonts.bold)
    y = writer.field(
        margin, y, column_width, text["name_as_entered"], printable or text["name_not_printable"]
    )
    y = writer.field(
        margin, y, column_width, text["date_of_birth"], format_date(data.date_of_birth)
    )
    y = writer.field(margin, y, column_width, text["passport_number"], data.passport_number)
    y = writer.field(margin, y, column_width, text["issuing_country"], data.issuing_country)
    y = writer.field(margin, y, column_width, text["valid_from"], _utc_date_time(data.valid_from))
    y = writer.field(margin, y, column_width, text["valid_until"], _utc_date_time(data.valid_until))
    y = writer.field(margin, y, column_width, text["entries"], text["entries_multiple"])

    y = min(y, top - drawn - 12 * mm) - 4 * mm
    canvas.setLineWidth(0.8)
    box_top = y + 6 * mm
    y = writer.text(margin + 4 * mm, y, content_width - 8 * mm, text["how_to_verify"], 12, True)
    y = writer.text(
        margin + 4 * mm, y - 1 * mm, content_width - 8 * mm, text["verify_instructions"], 10
    )
    y = writer.text(margin + 4 * mm, y - 1 * mm, content_width - 8 * mm, data.verify_url, 11, True)
    canvas.rect(margin, y + 1 * mm, content_width, box_top - y - 1 * mm, stroke=1, fill=0)

    writer.text(margin, max(y - 8 * mm, margin + 12 * mm), content_width, text["notice"], 9)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
