"""The report a therapist hands the patient: one session, or progress over visits, with
training load — plots (matplotlib), an HTML template (Jinja2) and a PDF (WeasyPrint).

- :mod:`.data`: the one adapter from where data lives (InfluxDB, a session file, a FIT file)
  to typed in-memory sessions and visits; nothing else reads a store;
- :mod:`.text`: how every number, time and date is written for people;
- :mod:`.findings`: the plain-language findings (also ``footfall analyze``'s text output);
- :mod:`.figures`: the plots, grey-scale readable, as PNG;
- :mod:`.render`: HTML and PDF from the template (templates/), strict about every warning.

docs/report.md explains what each section shows and why.
"""
