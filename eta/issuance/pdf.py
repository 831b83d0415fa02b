"""The printable authorisation: an A4 PDF with the holder's details and the signed QR code."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import arabic_reshaper
from bidi.algorithm import get_display  # this one mirrors brackets; bidi.get_display does not
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
# A CJK face with TrueType outlines (reportlab cannot embed the CFF outlines of Noto CJK): Debian's
# fonts-wqy-microhei (Apache-2.0), which .ci/run installs. Without one, Chinese labels fall back to
# English and Han names are not printed as boxes.
CJK_FONT_FILES = (
    Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc",
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
# Han, kana, hangul and full-width forms: scripts written without spaces between words.
_CJK_LETTERS = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_LETTERS}]")
# One CJK character, a run of other non-space characters (a URL, a Latin word), or spaces.
_BREAKABLE = re.compile(f"[{_CJK_LETTERS}]|[^\\s{_CJK_LETTERS}]+|\\s+")
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
        "passport. Anyone can check it by scanning the QR code, or uploading a picture of it, at:"
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
        "code QR, ou en en téléversant une photo, sur :"
    ),
    "notice": (
        "Cette autorisation est liée au passeport indiqué ci-dessus. Voyagez avec ce passeport. "
        "Une autorisation permet de voyager ; elle ne garantit pas l’entrée sur le territoire."
    ),
    "none": "Aucun",
}

ARABIC_LABELS: dict[str, str] = {
    "document_title": "تصريح السفر الإلكتروني",
    "reference": "الرقم المرجعي",
    "surname": "اسم العائلة (كما في جواز السفر)",
    "given_names": "الاسم الأول (كما في جواز السفر)",
    "name_as_entered": "الاسم كما أُدخل في الطلب",
    "name_not_printable": "(بأبجدية لا يمكن طباعتها في هذه الوثيقة: انظر الأسماء أعلاه)",
    "date_of_birth": "تاريخ الميلاد",
    "passport_number": "رقم جواز السفر",
    "issuing_country": "بلد الإصدار",
    "valid_from": "صالح من",
    "valid_until": "صالح حتى",
    "entries": "عدد مرات الدخول",
    "entries_multiple": "متعدد",
    "qr_caption": "تصريح موقّع: امسحه للتحقق",
    "how_to_verify": "كيفية التحقق من هذا التصريح",
    "verify_instructions": (
        "تتحقق شركات الطيران والعبّارات والقطارات من هذا التصريح إلكترونيًا من خلال جواز سفرك. "
        "ويمكن لأي شخص التحقق منه بمسح رمز QR أو بتحميل صورة له على:"
    ),
    "notice": (
        "هذا التصريح مرتبط بجواز السفر المبيّن أعلاه. سافر بجواز السفر هذا. "
        "يسمح لك التصريح بالسفر، ولكنه لا يضمن الدخول."
    ),
    "none": "لا يوجد",
}

CHINESE_LABELS: dict[str, str] = {
    "document_title": "电子旅行许可",
    "reference": "编号",
    "surname": "姓（与护照一致）",
    "given_names": "名（与护照一致）",
    "name_as_entered": "申请中填写的姓名",
    "name_not_printable": "（所用文字无法在本文件中打印：见上方姓名）",
    "date_of_birth": "出生日期",
    "passport_number": "护照号码",
    "issuing_country": "签发国家或地区",
    "valid_from": "生效日期",
    "valid_until": "有效期至",
    "entries": "入境次数",
    "entries_multiple": "多次",
    "qr_caption": "已签名许可：扫码核查",
    "how_to_verify": "如何核查本许可",
    "verify_instructions": (
        "航空公司、渡轮和铁路运营商会根据您的护照以电子方式核查本许可。"
        "任何人均可扫描二维码，或在以下网址上传二维码图片进行核查："
    ),
    "notice": "本许可与上方所示护照绑定。请持该护照出行。许可允许您出行，但不保证准予入境。",
    "none": "无",
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
        "el código QR, o subiendo una foto de él, en:"
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
        "oder ein Foto davon hier hochlädt:"
    ),
    "notice": (
        "Diese Genehmigung ist mit dem oben angegebenen Reisepass verknüpft. Reisen Sie mit "
        "diesem Reisepass. Eine Genehmigung erlaubt Ihnen die Reise; sie garantiert nicht die "
        "Einreise."
    ),
    "none": "Keine",
}

LABELS_BY_LANGUAGE: dict[str, dict[str, str]] = {
    "en": DEFAULT_LABELS,
    "fr": FRENCH_LABELS,
    "ar": ARABIC_LABELS,
    "zh": CHINESE_LABELS,
    "es": SPANISH_LABELS,
    "de": GERMAN_LABELS,
}


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
    cjk: str | None = None  # Chinese, Japanese and Korean, when a CJK font is installed


@cache
def _cjk_font() -> str | None:
    """Register the first CJK font found (see CJK_FONT_FILES); None when there is none."""
    for path in CJK_FONT_FILES:
        if path.is_file():
            pdfmetrics.registerFont(TTFont("EtaCJK", str(path), subfontIndex=0))
            return "EtaCJK"
    return None


@cache
def _fonts() -> _Fonts:
    """Register DejaVu Sans (Latin, Greek, Cyrillic, Arabic, Hebrew, Armenian, Georgian...)."""
    for directory in _FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("EtaSans", str(regular)))
            pdfmetrics.registerFont(TTFont("EtaSans-Bold", str(bold)))
            return _Fonts("EtaSans", "EtaSans-Bold", _cjk_font())
    # Without DejaVu only Latin-1 names print correctly; MRZ forms always do.
    return _Fonts("Helvetica", "Helvetica-Bold", _cjk_font())


def _is_rtl(text: str) -> bool:
    """Whether ``text`` has right-to-left letters (Arabic, Hebrew...)."""
    return any(unicodedata.bidirectional(character) in ("R", "AL") for character in text)


def _covers(text: str, font: str) -> bool:
    """Whether ``font`` has a glyph for every visible character of ``text``."""
    face = getattr(pdfmetrics.getFont(font), "face", None)
    glyphs = getattr(face, "charToGlyph", None)
    if glyphs is None:
        return True  # a standard PDF font: reportlab encodes what it can
    return all(ord(character) in glyphs for character in text if not character.isspace())


def _printable(text: str, font: str) -> str | None:
    """``text`` ready to draw in ``font``, or None when the font lacks some of its letters.

    reportlab draws characters one by one, left to right, as they come: Arabic letters would
    stand apart in their isolated forms and right-to-left names would read backwards. So
    Arabic is shaped into its joined forms and right-to-left runs put in visual order (the
    Unicode bidirectional algorithm). A name in a script the font does not have (DejaVu has
    no CJK) is not printed as empty boxes.
    """
    if _is_rtl(text):
        text = get_display(arabic_reshaper.reshape(text))
    return text if _covers(text, font) else None


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``, in logical order.

    Words break at spaces; Chinese, Japanese and Korean, written without spaces, may break
    between any two characters. Arabic is measured in its joined forms, as it is drawn.
    """
    if not _CJK.search(text):
        return simpleSplit(text, font, size, width) or [""]
    lines: list[str] = []
    line = ""
    for piece in _BREAKABLE.findall(text):
        if line and pdfmetrics.stringWidth(line + piece, font, size) > width:
            lines.append(line.rstrip())
            line = piece.lstrip()
        else:
            line += piece
    lines.append(line.rstrip())
    return lines or [""]


def _document_fonts(text: Mapping[str, str], fonts: _Fonts) -> tuple[dict[str, str], _Fonts]:
    """The labels and the fonts that can print them: Chinese labels are set in the CJK font
    (it has Latin letters and digits too); without one they fall back to English.
    """
    labels = "".join(text.values())
    if fonts.regular == "Helvetica" or _covers(labels, fonts.regular):
        return dict(text), fonts
    if fonts.cjk is not None and _covers(labels, fonts.cjk):
        return dict(text), _Fonts(fonts.cjk, fonts.cjk, fonts.cjk)
    return dict(DEFAULT_LABELS), fonts


def _labels(labels: Mapping[str, str] | str | None) -> dict[str, str]:
    if labels is None:
        return dict(DEFAULT_LABELS)
    if isinstance(labels, str):
        language = labels.split("-")[0].lower()
        return dict(LABELS_BY_LANGUAGE.get(language, DEFAULT_LABELS))
    return {**DEFAULT_LABELS, **labels}


class _Writer:
    """Draws text top-down on one page, wrapping to the column it is given.

    In a right-to-left document (Arabic labels) every line is aligned on the column's right
    edge; Arabic is shaped and each line put in visual order after wrapping, so a wrapped
    sentence still reads from its first line down.
    """

    def __init__(self, canvas: Canvas, fonts: _Fonts, rtl: bool = False) -> None:
        self.canvas = canvas
        self.fonts = fonts
        self.rtl = rtl

    def text(
        self,
        x: float,
        y: float,
        width: float,
        text: str,
        size: float,
        bold: bool = False,
        font: str | None = None,
    ) -> float:
        """Draw wrapped text with its first baseline at ``y``; return the y below it."""
        font = font or (self.fonts.bold if bold else self.fonts.regular)
        leading = size * 1.3
        self.canvas.setFont(font, size)
        shaped = arabic_reshaper.reshape(text) if _is_rtl(text) else text
        for line in _wrap(shaped, font, size, width):
            visual = get_display(line) if _is_rtl(line) else line
            if self.rtl:
                self.canvas.drawRightString(x + width, y, visual)
            else:
                self.canvas.drawString(x, y, visual)
            y -= leading
        return y

    def field(
        self, x: float, y: float, width: float, label: str, value: str, font: str | None = None
    ) -> float:
        """A small label over its value; return the y of the next field."""
        y = self.text(x, y, width, label, 8.5)
        y = self.text(x, y - 1, width, value, 12, bold=True, font=font)
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
    English; see :data:`DEFAULT_LABELS` for the keys) or a language code ("en", "ar", "de"...).
    ``format_date`` formats dates for the reader's locale.
    """
    text, fonts = _document_fonts(_labels(labels), _fonts())
    rtl = _is_rtl(text["document_title"])
    buffer = io.BytesIO()
    # invariant: no creation timestamp or random id, so the same input gives the same bytes.
    canvas = Canvas(buffer, pagesize=A4, invariant=1, pageCompression=1)
    # The metadata stays free of personal data: PDFs get forwarded and indexed.
    canvas.setTitle(f"{text['document_title']} {data.reference}")
    canvas.setAuthor(data.service_name)
    canvas.setSubject(text["document_title"])
    writer = _Writer(canvas, fonts, rtl)

    page_width, page_height = A4
    margin = 18 * mm
    content_width = page_width - 2 * margin
    y = page_height - margin - 4 * mm

    # The service's own name above the title, unless it is the title (it printed twice).
    if data.service_name.casefold() != text["document_title"].casefold():
        y = writer.text(margin, y, content_width, data.service_name, 13, bold=True)
    y = writer.text(margin, y - 1 * mm, content_width, text["document_title"], 22, bold=True)
    canvas.setLineWidth(1.2)
    canvas.line(margin, y, page_width - margin, y)
    y -= 9 * mm

    y = writer.text(margin, y, content_width, text["reference"], 9)
    y = writer.text(margin, y - 2 * mm, content_width, data.reference, 20, bold=True)
    top = y - 4 * mm

    # Mirrored for a right-to-left reader: the details start at the right margin, the QR code
    # stands on the left.
    modules = encode(data.token).size
    full_qr = QR_WIDTH * modules / (modules - 2 * QUIET_ZONE)
    qr_right = margin + full_qr if rtl else page_width - margin
    drawn = _draw_qr(canvas, data.token, qr_right, top)
    qr_left = qr_right - drawn
    column_width = content_width - drawn - 4 * mm
    column = page_width - margin - column_width if rtl else margin
    writer.text(qr_left, top - drawn - 2 * mm, drawn, text["qr_caption"], 8.5)

    y = top - 5 * mm
    y = writer.field(column, y, column_width, text["surname"], data.surname_mrz)
    y = writer.field(
        column, y, column_width, text["given_names"], data.given_names_mrz or text["none"]
    )
    # The name as typed, in the document's font or else the CJK one (a Han name on an English
    # or Arabic document); never as empty boxes.
    as_entered = " ".join(part for part in (data.given_names, data.surname) if part)
    name_font = next(
        (font for font in (fonts.bold, fonts.cjk) if font and _printable(as_entered, font)), None
    )
    y = writer.field(
        column,
        y,
        column_width,
        text["name_as_entered"],
        as_entered if name_font else text["name_not_printable"],
        font=name_font,
    )
    y = writer.field(
        column, y, column_width, text["date_of_birth"], format_date(data.date_of_birth)
    )
    y = writer.field(column, y, column_width, text["passport_number"], data.passport_number)
    y = writer.field(column, y, column_width, text["issuing_country"], data.issuing_country)
    y = writer.field(column, y, column_width, text["valid_from"], _utc_date_time(data.valid_from))
    y = writer.field(column, y, column_width, text["valid_until"], _utc_date_time(data.valid_until))
    y = writer.field(column, y, column_width, text["entries"], text["entries_multiple"])

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
