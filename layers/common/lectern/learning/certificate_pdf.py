"""The certificate's PDF, made with fpdf2 (pure Python; CertificateLayer, the progress function's only).

fpdf2 is imported when a PDF is made, not when the function starts: it (with fontTools) takes a
noticeable share of a cold start, and only the heartbeat that completes a course needs it.
The text is set in a PDF core font (Helvetica), which covers Latin-1: any other character is
written without its accent where it has one (Ł → L), else as "?"; the verification page shows
the name exactly as stored.
"""
import unicodedata
import warnings

_NEAREST = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ø": "O", "ø": "o", "—": "-", "–": "-", "‘": "'", "’": "'",
            "“": '"', "”": '"', "…": "...", "€": "EUR"}


def latin1(text: str) -> str:
    """`text` as the core fonts can draw it."""
    out = []
    for char in text:
        try:
            char.encode("latin-1")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else _NEAREST.get(char, "?"))
    return "".join(out)


def render(*, learner_name: str, course_title: str, issued_at: str, code: str, verify_url: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Pillow could not be imported": images are not needed here
        from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_title(latin1(f"Certificate of completion - {course_title}"))
    pdf.set_author("Lectern")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_draw_color(60, 60, 60)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, 277, 190)

    def line(text: str, size: int, style: str = "", gap: float = 4, height: float = 12) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(0, height, latin1(text), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    pdf.set_y(32)
    line("Certificate of completion", 30, "B", gap=10, height=14)
    line("This certifies that", 14)
    line(learner_name, 26, "B", gap=6, height=13)
    line("has completed every lesson of the course", 14)
    line(course_title, 20, "B", gap=14, height=11)
    line(f"Issued on {issued_at[:10]}", 12, gap=1, height=7)
    line(f"Certificate code: {code}", 11, gap=1, height=7)
    line(f"Verify it at {verify_url}", 11, gap=1, height=7)
    return bytes(pdf.output())
