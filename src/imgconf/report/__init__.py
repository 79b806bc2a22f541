"""Run model -> report.json -> junit.xml, summary.md, report.html."""
