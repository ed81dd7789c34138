"""Patient reports: the PDF and XLSX a therapist downloads, with trend charts and a score receipt per administration.

Library code (no Streamlit): build a :class:`Report` from plain data with :func:`patient_report`, then render it.

>>> import pandas as pd, scoring
>>> from scoring.reports import patient_report
>>> lib = scoring.load_library()
>>> data = pd.DataFrame({"patient": "p1", "date": ["2024-01-08", "2024-03-04"], "instrument": "phq9",
...                      **{f"phq9_{i}": [2, 1] for i in range(1, 10)}})
>>> report = patient_report(scoring.history(lib, data).frame, lib, administrations=data, patient_label="Jane Doe",
...                         clinic_name="Praxis Müller", charts=False)
>>> pdf_bytes, xlsx_bytes = report.to_pdf(), report.to_xlsx()   # or report.to_pdf("report.pdf")
>>> pdf_bytes[:5], xlsx_bytes[:2]
(b'%PDF-', b'PK')

What is in it: a header (patient label as given, clinic, period, generated at, engine version), an at-a-glance
table (baseline against latest per scale, with the classification), open alerts and critical items endorsed,
events; per instrument the trend chart of every scale (:func:`scoring.charts.trend_chart`), the table of
administrations (date, score, band, change against previous and baseline with its classification, norm
percentile and T where present, notes such as "prorated"), the change summary (criterion, threshold or RCI,
cut-off and MCID with their sources); an appendix with one score receipt per administration
(:func:`scoring.explain`) and one with each instrument's citations, copyright line, licence, versions and
content hashes. Each instrument also has an answers-by-item table labelled with the item wording where the
instrument ships it; instruments whose licence is ``no_item_text`` show their descriptors instead, never
wording. Percentiles and T scores appear where the history carries them (:func:`scoring.history` with
``norms=``, or :func:`scoring.change.timeline.with_norms` on a history of stored scores).

The PDF is drawn with reportlab (BSD licence, pure Python), imported only when a PDF is rendered; the XLSX
with openpyxl (every text cell neutralised against formula injection). Charts need altair and
vl-convert-python. ``pip install 'psyscore[reports]'`` installs all three.
"""

from scoring.reports.build import patient_report
from scoring.reports.model import (
    AlertEntry,
    InstrumentSection,
    NormInfo,
    Receipt,
    Report,
    ReportInputError,
    ScaleSection,
)

#: Media types for a download button (``st.download_button(..., mime=PDF_MEDIA_TYPE)``).
PDF_MEDIA_TYPE = "application/pdf"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

__all__ = [
    "PDF_MEDIA_TYPE",
    "XLSX_MEDIA_TYPE",
    "AlertEntry",
    "InstrumentSection",
    "NormInfo",
    "Receipt",
    "Report",
    "ReportInputError",
    "ScaleSection",
    "patient_report",
]
