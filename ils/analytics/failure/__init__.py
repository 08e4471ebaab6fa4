"""48-hour equipment failure prediction, trained per lab on its own history (pure).

- ``dataset.build_dataset(series, events)``: window features (``features``) and labels.
- ``model.train_failure_model(data, rng, TrainingParams(false_alarm_budget=...))``: gradient
  boosting; the alarm threshold is chosen on held-out machines for the false-alarm budget.
- ``risk.failure_risk(model, series, events, now)``: ``probability_48h``,
  ``expected_failure_within_h``, ``signals``, as ``GET /api/equipment/{id}/failure-risk`` returns;
  ``risk.risk_finding(risk, model.threshold)`` turns an alarm into an alert finding.
- ``scoring.score_alarms``: event-based scoring (alarms count only 2-48 h before a failure).
- ``baseline``: the static-threshold baseline the benchmark compares against.
"""
