"""Column aliases of the three noise tables (docs/water.md "Noise"), shared by the evaluation
(:mod:`qingshan.evaluate.noise`) and the importer (:mod:`qingshan.ingest.noise`)."""

REGIONAL = {"point": ("点位", "测点", "网格"), "leq_day": ("day", "昼间", "ld", "昼间leq"), "leq_night": ("night", "夜间", "ln", "夜间leq"),
            "district": ("区县", "区域")}
ROAD = {"segment": ("路段", "道路", "点位"), "length_km": ("length", "路长", "长度", "路段长度", "路段长(km)"),
        "leq_day": ("day", "昼间", "ld"), "leq_night": ("night", "夜间", "ln"), "district": ("区县", "区域")}
ZONES = {"point": ("点位", "测点"), "zone": ("功能区", "功能区类别", "类别"), "leq_day": ("day", "昼间", "ld"),
         "leq_night": ("night", "夜间", "ln"), "date": ("日期", "监测日期", "时段")}
