"""SFT data-composition reproduction kit: recipes -> runs -> stages -> backends/export/eval -> report.

`import kit` imports no torch; heavy packages are imported inside the functions that need them.
"""

__version__ = "0.1.0"
