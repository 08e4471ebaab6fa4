"""Anomaly detection for a lab: equipment, process, quality and volume (pure, streaming).

Entry points (times are epoch seconds, UTC; ids are passed in):

- ``lab.LabAnomalyState`` / ``register_equipment`` / ``ingest_readings`` / ``raise_findings``:
  the per-lab state an AnomalyModel actor holds and feeds after each commit.
- ``validation.check_readings``: reject / quarantine bad telemetry, with a code per reading.
- ``equipment.observe_batch`` / ``observe_machine`` (``streaming.update_metric_batch`` and
  ``multivariate.update_multivariate``): one machine's streaming detectors, a batch in one pass.
- ``line.LineWatch``: the live line of a lab (committed station movements folded into hours) and
  its process and quality findings (``line.chart``: SPC on hourly series; breakage bursts).
- ``process.process_findings``, ``quality.inspection_findings`` / ``spike_findings``,
  ``volume.volume_finding``: detectors over station, quality and demand series.
- ``alerts.raise_finding`` / ``acknowledge`` / ``resolve``: one live alert per (kind, subject).
"""
