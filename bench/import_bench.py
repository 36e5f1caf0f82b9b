#!/usr/bin/env python3
"""The import benchmark: `strata import` against the sqlite3 shell's `.import`, in one run.

Generates (once, cached in build/bench/) a CRM-like export of --rows rows and 17 columns:
`;` separators, `,` decimals with thousands separated by spaces, DD.MM.YYYY dates, yes/no
in Russian, phone numbers, some quoted text with separators, quotes and line breaks inside,
some empty cells. Then imports it into a fresh database, best of --repeat, with
  - strata:  strata import FILE --db DB --table crm --key id (inferring every column's type,
             converting numbers, dates and booleans, checking the key)
  - sqlite3: sqlite3 DB '.import --csv FILE crm' with separator ';' (every column TEXT,
             nothing inferred or converted)
and prints both wall times and their ratio. --write-doc puts the table in docs/performance.md.

Usage: python3 bench/import_bench.py [--rows 1000000] [--repeat 3] [--write-doc]
"""
import argparse
import os
import random
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATA = os.path.join(ROOT, "build", "strata")
BENCH = os.path.join(ROOT, "build", "bench")
DOC = os.path.join(ROOT, "docs", "performance.md")

HEADER = ["ID", "Компания", "Индустрия", "Размер", "Город", "Менеджер", "Дата регистрации",
          "Последний контакт", "Покупки", "Сумма LTV", "Средний чек", "Email", "Телефон",
          "VIP", "Источник", "NPS", "Комментарий"]
INDUSTRIES = ["IT", "Retail", "Производство", "Логистика", "Финансы", "Медицина", "Образование"]
SIZES = ["1-10", "10-50", "50-200", "200-1000", "1000+"]
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара"]
MANAGERS = ["Иванова", "Петров", "Сидоров", "Кузнецова", "Смирнов"]
SOURCES = ["сайт", "выставка", "рекомендация", "холодный звонок", "реклама"]


def money(rng, high):
    value = rng.uniform(0, high)
    whole = int(value)
    grouped = f"{whole:,}".replace(",", " ")
    return f"{grouped},{int((value - whole) * 100):02d}"


def date(rng, year_from, year_to):
    return f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(year_from, year_to)}"


def generate(path, rows):
    rng = random.Random(20260101)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(";".join(HEADER) + "\r\n")
        for i in range(1, rows + 1):
            company = f"ООО Компания {i}"
            if i % 10 == 0:
                company = f"\"ООО \"\"Альфа {i}\"\"; филиал\""
            comment = ""
            if i % 7 == 0:
                comment = "\"перезвонить; уточнить бюджет\""
            elif i % 13 == 0:
                comment = "\"две строки\r\nкомментария\""
            purchases = rng.randint(0, 40)
            cells = [
                str(i), company, rng.choice(INDUSTRIES), rng.choice(SIZES), rng.choice(CITIES),
                rng.choice(MANAGERS), date(rng, 2015, 2024), date(rng, 2023, 2025),
                str(purchases), money(rng, 2_000_000), money(rng, 90_000),
                f"client{i}@example.ru", f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
                rng.choice(["да", "нет"]), rng.choice(SOURCES),
                "" if i % 5 == 0 else str(rng.randint(0, 10)), comment,
            ]
            f.write(";".join(cells) + "\r\n")


def timed(cmd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.decode()}")
    return elapsed, proc.stdout.decode()


def fresh(path):
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    os.makedirs(BENCH, exist_ok=True)
    csv = os.path.join(BENCH, f"crm-{args.rows}.csv")
    if not os.path.exists(csv):
        print(f"generating {csv} ...", flush=True)
        generate(csv + ".tmp", args.rows)
        os.replace(csv + ".tmp", csv)
    size_mb = os.path.getsize(csv) / 1e6
    db = os.path.join(BENCH, "import-bench.db")
    strata_cmd = [STRATA, "import", csv, "--db", db, "--table", "crm", "--key", "id"]
    sqlite_cmd = ["sqlite3", "-cmd", ".mode csv", "-cmd", ".separator ;", db, f".import {csv} crm"]
    best = {"strata": None, "sqlite3": None}
    summary = ""
    for _ in range(args.repeat):
        # Interleaved, each into a fresh database.
        fresh(db)
        t, summary = timed(strata_cmd)
        best["strata"] = t if best["strata"] is None else min(best["strata"], t)
        fresh(db)
        t, _ = timed(sqlite_cmd)
        best["sqlite3"] = t if best["sqlite3"] is None else min(best["sqlite3"], t)
    fresh(db)
    ratio = best["strata"] / best["sqlite3"]
    table = (
        f"| file | strata import | sqlite3 .import | strata / sqlite3 |\n"
        f"|---|---:|---:|---:|\n"
        f"| {args.rows:,} rows, 17 columns, {size_mb:.0f} MB | {best['strata']:.2f} s "
        f"| {best['sqlite3']:.2f} s | {ratio:.2f} |\n"
    )
    print(summary)
    print(table)
    if args.write_doc:
        with open(DOC, encoding="utf-8") as f:
            doc = f.read()
        start = doc.index("<!-- import-bench -->")
        end = doc.index("<!-- /import-bench -->")
        doc = doc[:start] + "<!-- import-bench -->\n" + table + doc[end:]
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(doc)
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
