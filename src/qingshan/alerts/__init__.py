"""Alarm centre pieces (issue 14): the cause note 初步原因分析 (:mod:`.explain`) and its scenario suite
(:mod:`.scenarios`). docs/alerts.md."""
