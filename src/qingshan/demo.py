"""``qingshan demo``: import data, compute hourly AQI, evaluate per HJ 663, rank — and write the results.

With ``--data DIR`` the real files in DIR are imported (quotsoft ``china_sites_*.csv``, CNEMC API CSVs, a station
list, long CSV/XLSX). Without it the seeded synthetic data set of :mod:`qingshan.synth` is written as a long CSV
into the workspace and imported through the same adapter a user's file would go through.
"""

from __future__ import annotations

import secrets
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .errors import QingshanError
from .evaluate.air import evaluate_hourly, evaluate_period, rank, ranked_stations
from .evaluate.periods import Period, day_date
from .ingest import import_files
from .ingest.water_samples import import_water_samples
from .store.read import city_hours, hour_range
from .store.workspace import Workspace
from .synth import DEMO_CITY, DEMO_STATIONS, generate_hourly, to_long_csv
from .synth_other import dust_file, noise_files, rain_file
from .synth_water import write_workbook


def _classify(folder: Path) -> dict[str, list[Path]]:
    kinds: dict[str, list[Path]] = {"stations": [], "quotsoft": [], "cnemc": [], "long": []}
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in (".csv", ".xlsx"):
            continue
        head = p.open("rb").read(4096).decode("utf-8", "replace").lstrip("\ufeff").split("\n", 1)[0].lower()
        if p.name.startswith("china_sites_") and head.startswith("date,hour,type"):
            kinds["quotsoft"].append(p)
        elif head.startswith("timepoint,stationcode") or ("timepoint" in head and "stationcode" in head):
            kinds["cnemc"].append(p)
        elif "监测点编码" in head or head.startswith("code,name"):
            kinds["stations"].append(p)
        elif head.startswith("station,time"):
            kinds["long"].append(p)
    return kinds


class DemoError(QingshanError, ValueError):
    """The demo cannot be built from what it was given (the message says why and what to do, in Chinese)."""


def run_demo(workspace: Path, data: Path | None, city: str | None, console: Console,
             demo_password: str | None = None, stations: Path | None = None) -> tuple[str | None, dict[str, str]]:
    ws = Workspace(workspace)
    out_dir = ws.path / "out"
    out_dir.mkdir(exist_ok=True)
    try:
        if data is not None:
            _import_data(ws, Path(data), stations, console)
        else:
            city = city or DEMO_CITY
            _synthetic(ws, console)
            # the HJ 212 networks go through an in-process receiver, which opens the workspace itself
            from .demo_networks import deliver_networks

            ws.close()
            deliver_networks(Path(workspace), Path(workspace) / "demo-data", DEMO_LAST_DAY, console)
            ws = Workspace(workspace)
        lo, hi_ = hour_range(ws.con)
        if lo is None:
            raise DemoError("没有导入任何小时数据")
        city = _choose_city(ws, city, console) if data is not None else city
        first, last = day_date((lo - 1) // 24), day_date((hi_ - 1) // 24)
        first = max(first, date(last.year, 1, 1))  # the latest calendar year in the data (or the span within it)
        period = Period(first, last, f"{first.isoformat()}:{last.isoformat()}")
        hourly = evaluate_hourly(ws.con, period, city=city)
        hourly_path = out_dir / "hourly_aqi.csv"
        ws.con.register("_hourly", hourly)
        ws.con.execute(
            "COPY (SELECT station, TIMESTAMP '1970-01-01' + to_hours(hi) AS time, * EXCLUDE (station, hi) "
            f"FROM _hourly ORDER BY station, hi) TO '{hourly_path}' (HEADER, DELIMITER ',')"
        )
        ws.con.unregister("_hourly")
        res = evaluate_period(ws.con, period, city=city)
        table = res.table[(res.table["level"] != "station") | ranked_stations(res.table)]
        eval_path = out_dir / "evaluation.csv"
        table.to_csv(eval_path, index=False)
        ranked = rank(table[table["level"] == "station"], "composite_index")
        t = Table(title=f"{city} 环境空气质量评价 {period.label}（{'、'.join(res.eval_rulesets)}）")
        for c in ("名次", "站点/城市", "有效天", "优良率%", "PM2.5", "PM10", "NO2", "O3-8h-90", "CO-95", "综合指数"):
            t.add_column(c, justify="right")
        def f(v, digits: int = 0):
            return "—" if v is None or v != v else f"{float(v):.{digits}f}"

        def cells(r):
            return [f(r["valid_days"]), f(r["good_ratio"], 1), f(r["pm25_mean"]), f(r["pm10_mean"]), f(r["no2_mean"]),
                    f(r["o3_8h_p90"]), f(r["co_p95"], 1), f(r["composite_index"], 2)]

        for _, r in ranked.iterrows():
            t.add_row(f(r["rank_composite_index"]), str(r["name"]), *cells(r))
        c = table[table["level"] == "city"]
        if len(c):
            t.add_row("", f"{city}（城市）", *cells(c.iloc[0]))
        console.print(t)
        console.print(f"逐时 AQI：{hourly_path}\nHJ 663 评价表：{eval_path}")
        _targets(ws, city, last, console)
    finally:
        ws.close()
    return city, _demo_ledger(workspace, console, demo_password, city)


#: sibling folders of ``--data`` searched for a station list (the layout of ../shared/data)
STATION_LIST_DIRS = "*station_list*"
#: the city the demo ledger and the shipped targets describe (ledger/demo.py)
LEDGER_CITY = "常州市"


def find_station_list(data: Path, given: Path | None) -> tuple[list[Path], str]:
    """The station list for ``data``: ``--stations``, else one inside ``data``, else one in a sibling folder named
    like ``cnemc_station_list_*``; with where it was found (said to the user). :class:`DemoError` if none."""
    if given is not None:
        if not given.is_file():
            raise DemoError(f"--stations 指定的站点表不存在：{given}")
        return [given], "--stations 指定"
    inside = _classify(data)["stations"]
    if inside:
        return inside, f"{data} 中"
    for folder in sorted(p for p in data.resolve().parent.glob(STATION_LIST_DIRS) if p.is_dir()):
        found = _classify(folder)["stations"]
        if found:
            return found, f"--data 旁边的 {folder.name} 目录中"
    raise DemoError(f"{data} 中没有站点表（监测点编码、名称、城市…），旁边也没有 cnemc_station_list_* 目录；"
                    "请用 --stations 指定站点表 CSV/XLSX")


def _import_data(ws: Workspace, data: Path, stations: Path | None, console: Console) -> None:
    """Import the files of ``data`` (and its station list) through the same adapters as ``qingshan import``."""
    if not data.is_dir():
        raise DemoError(f"--data 应为目录：{data}")
    kinds = _classify(data)
    if not any(kinds[k] for k in ("quotsoft", "cnemc", "long")):
        raise DemoError(f"{data} 中没有可识别的小时数据文件（china_sites_*.csv、CNEMC 导出或 station,time,… 长表）")
    kinds["stations"], where = find_station_list(data, stations)
    console.print(f"站点表：{'、'.join(map(str, kinds['stations']))}（{where}找到）")
    for kind in ("stations", "quotsoft", "cnemc", "long"):
        if kinds[kind]:
            reports = import_files(ws, kind, kinds[kind])
            new = sum(r.new for r in reports)
            q = sum(r.quarantined for r in reports)
            console.print(f"导入 {kind}: {len(reports)} 个文件，新增 {new} 行，隔离 {q} 处")
            for r in reports:
                for m in r.messages:
                    console.print(f"  {Path(r.source).name}: {m}")


def _choose_city(ws: Workspace, city: str | None, console: Console) -> str:
    """The city to evaluate: ``--city`` (as in the station list, "常州" or "常州市"), else the ledger's city when the
    data hold it, else the city with the most station-hours; the choice and its reason are printed."""
    counts = city_hours(ws.con)
    if not counts:
        raise DemoError("导入的小时数据中没有一个站点在站点表中（站点编码对不上），无法按城市评价")
    if city is not None:
        for name in (city, city + "市", city.removesuffix("市")):
            if name in counts:
                console.print(f"评价城市：{name}（--city 指定）")
                return name
        raise DemoError(f"数据中没有城市 {city!r} 的小时数据（数据中的城市如：{'、'.join(list(counts)[:10])} …）")
    ledger_city = next((c for c in (LEDGER_CITY, LEDGER_CITY.removesuffix("市")) if c in counts), None)
    if ledger_city is not None:
        console.print(f"评价城市：{ledger_city}（未指定 --city；数据中有演示台账和内置年度目标所属的城市；"
                      f"数据共 {len(counts)} 个城市，用 --city 选择其他城市）")
        return ledger_city
    top = next(iter(counts))
    console.print(f"评价城市：{top}（未指定 --city；数据最多的城市，{counts[top]} 个站点小时；"
                  f"数据共 {len(counts)} 个城市，用 --city 选择其他城市）")
    return top


DEMO_YEARS = (2021, 2022, 2023)
#: the demo's "today": data end on this day, so the console shows a year in progress against its targets
DEMO_LAST_DAY = date(2023, 10, 31)


def _synthetic(ws: Workspace, console: Console) -> None:
    """Write the generated demo files (two years of hourly air data, a water workbook) and import them through
    the same adapters a user's files go through."""
    gen_dir = ws.path / "demo-data"
    gen_dir.mkdir(exist_ok=True)
    st = DEMO_STATIONS.copy()
    st["is_control"] = st["is_control"].map({True: "Y", False: "N"})
    st.to_csv(gen_dir / "stations.csv", index=False)
    hourly_files = []
    for year in DEMO_YEARS:
        path = gen_dir / f"hourly_{year}.csv"
        frame = generate_hourly(DEMO_STATIONS, year, seed=year)
        last_hi = ((DEMO_LAST_DAY - date(1970, 1, 1)).days + 1) * 24  # 24:00 of the last day
        to_long_csv(frame[frame["hi"] <= last_hi]).to_csv(path, index=False)
        hourly_files.append(path)
    water_path = gen_dir / "water_samples.xlsx"
    write_workbook(water_path, list(DEMO_YEARS), last_month=(DEMO_LAST_DAY.year, DEMO_LAST_DAY.month))
    console.print(f"已生成内置示范数据（{DEMO_CITY}，{DEMO_YEARS[0]}–{DEMO_YEARS[-1]} 年逐时空气、逐月地表水，合成数据）：{gen_dir}")
    for kind, files in (("stations", [gen_dir / "stations.csv"]), ("long", hourly_files)):
        for r in import_files(ws, kind, files):
            console.print(f"导入 {kind}: 新增 {r.new} 行，未变 {r.unchanged} 行，隔离 {r.quarantined} 处")
    rep = import_water_samples(ws, water_path)
    console.print(f"导入 water-samples: 读取 {rep.rows_read} 行，隔离 {rep.quarantined} 处")
    _import_other(ws, gen_dir, console)
    full_year = DEMO_LAST_DAY.year - 1
    console.print(f"报告示例（文件写入 {ws.path / 'output'}）：uv run qingshan --workspace {ws.path} report bulletin "
                  f"--city {DEMO_CITY} --year {full_year}", soft_wrap=True)
    console.print(f"　　　　　uv run qingshan --workspace {ws.path} report monthly --city {DEMO_CITY} --month "
                  f"{DEMO_LAST_DAY:%Y-%m}", soft_wrap=True)


def _import_other(ws: Workspace, gen_dir: Path, console: Console) -> None:
    """Generate the dustfall and rain files (all demo years, dustfall up to the demo's last month) and the noise
    files of the last full demo year, and import them into the store like a user's files."""
    from .ingest.deposition import import_dust, import_rain
    from .ingest.noise import import_noise

    full_year = DEMO_LAST_DAY.year - 1
    noise = noise_files(gen_dir, full_year)
    reports = [("dust", import_dust(ws, dust_file(gen_dir, list(DEMO_YEARS), (DEMO_LAST_DAY.year, DEMO_LAST_DAY.month)))),
               ("rain", import_rain(ws, rain_file(gen_dir, list(DEMO_YEARS))))]
    for kind, key in (("regional", "regional"), ("road", "road"), ("zone", "zones")):
        reports.append((f"noise-{kind}（{full_year} 年）", import_noise(ws, kind, noise[key], full_year)))
    for kind, r in reports:
        console.print(f"导入 {kind}: 新增 {r.new} 行，未变 {r.unchanged} 行，隔离 {r.quarantined} 处")


def _targets(ws: Workspace, city: str, as_of: date, console: Console) -> None:
    """Year-to-date progress against the city's annual targets, when a target file exists for it."""
    from .cli.targets import print_status
    from .targets.config import TargetConfigError, find_config
    from .targets.evaluate import target_status

    try:
        config = find_config(city, as_of.year)
    except TargetConfigError:
        console.print(f"（没有 {city} {as_of.year} 年的目标文件，跳过目标进度）")
        return
    print_status(target_status(ws.con, config, city, as_of), config, as_of, city)


def _demo_ledger(workspace: Path, console: Console, password: str | None, city: str | None = None) -> dict[str, str]:
    """The demo ledger (2023 Changzhou rectification items, key tasks, petitions …) beside the measurements, and
    the demo accounts (returned as name → role text); their password is ``password`` or a random one, printed."""
    from .cli.ledger import print_stats
    from .ledger.db import open_ledger
    from .ledger.demo import build_demo_ledger
    from .ledger.rbac import Principal
    from .ledger.service import LedgerService

    ledger = open_ledger(workspace)
    try:
        with ledger.session() as s:
            try:
                st = build_demo_ledger(s)
                console.print("已建立演示台账（据公开文件中的事实整理）：")
                fresh = True
            except ValueError:  # the workspace already holds a ledger: show it as it is
                st = LedgerService(s, Principal.system()).stats()
                fresh = False
            if fresh:
                svc = LedgerService(s, Principal.system())
                password = password or secrets.token_urlsafe(9)
                for name, role, unit, label in DEMO_ACCOUNTS:
                    svc.create_user(name, password, role, unit, label)
                s.commit()
                logins = Path(workspace) / "demo-logins.txt"
                logins.write_text("".join(f"{n}\t{password}\t{label}\n" for n, _, _, label in DEMO_ACCOUNTS),
                                  encoding="utf-8")
                logins.chmod(0o600)
    finally:
        ledger.dispose()
    print_stats(st)
    if city is not None and city.removesuffix("市") != LEDGER_CITY.removesuffix("市"):
        console.print(f"注：演示台账记录的是{LEDGER_CITY}的督察整改、重点任务与信访，与所评价的城市 {city} 无关。")
    return {n: label for n, _, _, label in DEMO_ACCOUNTS}


#: demo accounts: name, role, unit, label (the four roles of the ledger's permission model)
DEMO_ACCOUNTS = (("admin", "admin", None, "系统管理员"),
                 ("bureau", "bureau", "常州市生态环境局", "局机关（分析、调度）"),
                 ("zjj", "department", "市住建局", "责任部门：市住建局"),
                 ("wujin", "district", "武进区", "属地：武进区"))
