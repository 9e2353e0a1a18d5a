"""Data quality II (issue 17): an interview's audit log and answer patterns (:mod:`.facts`), the checks they feed
(:mod:`.checks`), the scorecard's running cells (:mod:`.cells`) and back-checks (:mod:`.backchecks`)."""
