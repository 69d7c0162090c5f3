"""The alarm centre (issue 14): alarm rules over the data → episodes kept in the store (:mod:`.detect`,
:mod:`.episodes`, :mod:`.run`), the cause note 初步原因分析 (:mod:`.explain`) and its scenario suite
(:mod:`.scenarios`); dispatch goes through the ledger's ``event`` records. docs/alerts.md."""
