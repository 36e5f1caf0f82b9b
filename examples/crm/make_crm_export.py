#!/usr/bin/env python3
"""Writes crm-export.csv: a B2B CRM's contact export in the shape of seed 002, as Bitrix24
writes it by default: Windows-1251, ';' separators, decimal commas, DD.MM.YYYY dates,
Russian headers, CRLF line ends, quoted names where they hold a quote or a ';'.

Deterministic (fixed seed): running it again gives the same bytes.
Usage: python3 examples/crm/make_crm_export.py [--rows 2500] [--out examples/crm/crm-export.csv]
"""
import argparse
import datetime
import os
import random

HEADER = ["ID", "Компания", "Индустрия", "Размер компании", "Дата регистрации",
          "Последний контакт", "Покупки", "Сумма LTV", "Подписка на рассылку"]
INDUSTRIES = ["IT", "Ритейл", "Производство", "Логистика", "Финансы", "Медицина"]
SIZES = [("1-10", 0.30), ("10-50", 0.30), ("50-200", 0.22), ("200-1000", 0.12), ("1000+", 0.06)]
NAMES = ["Альфа", "Вектор", "Гранит", "Дельта", "Орион", "Север", "Спектр", "Техно", "Урал",
         "Фортуна"]
FORMS = ["ООО", "АО", "ИП"]
TODAY = datetime.date(2026, 11, 1)


def ru_date(d):
    return d.strftime("%d.%m.%Y")


def money(value):
    whole = int(value)
    return f"{whole:,}".replace(",", " ") + f",{int(round((value - whole) * 100)) % 100:02d}"


def row(rng, i):
    size = rng.choices([s for s, _ in SIZES], [w for _, w in SIZES])[0]
    name = f"{rng.choice(FORMS)} {rng.choice(NAMES)}-{i}"
    if i % 9 == 0:
        name = f"\"{rng.choice(FORMS)} \"\"{rng.choice(NAMES)}\"\"; филиал {i}\""
    registered = TODAY - datetime.timedelta(days=rng.randint(5, 5 * 365))
    scale = {"1-10": 1, "10-50": 3, "50-200": 8, "200-1000": 20, "1000+": 60}[size]
    never_bought = rng.random() < 0.15
    purchases = 0 if never_bought else max(1, int(rng.expovariate(1 / (2 + scale / 4))))
    ltv = "" if never_bought else money(purchases * rng.uniform(8_000, 25_000) * scale ** 0.5)
    span = (TODAY - registered).days
    quiet = min(span, int(rng.expovariate(1 / 150)))
    last_contact = "" if rng.random() < 0.04 else ru_date(TODAY - datetime.timedelta(days=quiet))
    return [str(i), name, rng.choice(INDUSTRIES), size, ru_date(registered), last_contact,
            str(purchases), ltv, rng.choice(["да", "нет", "нет"])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2500)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "crm-export.csv"))
    args = parser.parse_args()
    rng = random.Random(2)
    lines = [";".join(HEADER)] + [";".join(row(rng, i)) for i in range(1, args.rows + 1)]
    with open(args.out, "wb") as f:
        f.write(("\r\n".join(lines) + "\r\n").encode("cp1251"))
    print(f"wrote {args.out}: {args.rows} rows")


if __name__ == "__main__":
    main()
