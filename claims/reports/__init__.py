"""Reports built from the store: their data and their files (the monthly 理赔明细 by township).

The layer sits between the store and the activities, so a scheduled workflow's activity and
the services both build the same report with the same bytes:

=====================  ===================================================================
module                 its one job
=====================  ===================================================================
``monthly``            one county's month as typed rows, subtotals and sheets
``formats``            the report as xlsx, CSV (with a BOM), printable HTML and PDF
``letter``             the refusal letter (拒赔通知书) as HTML and PDF
=====================  ===================================================================
"""
