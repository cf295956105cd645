"""The profiling report (``profiling.html``): typed tables with units and rounding, problems first, the flame graph
inline; one display function per notebook cell (:mod:`hivepulse.report.profiling.sections`)."""
