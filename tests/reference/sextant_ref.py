#!/usr/bin/env python3
"""Independent reference implementation of sextant's standard-pipeline figures.

Written from /work/shared/domain.md (sections 1-6) and pipelines/DEFINITIONS.md only,
with plain loops and dicts (standard library only).  It deliberately shares nothing with
the Rust/SQL code so that the two can be compared.

    python3 tests/reference/sextant_ref.py --data DIR --period 2026-10 \
        [--fiscal-year-start 1] --out OUTDIR
    python3 tests/reference/sextant_ref.py --self-test

Writes OUTDIR/kpis.json, OUTDIR/tables/<name>.csv and (extra) OUTDIR/series.json.
See README.md next to this file for the choices made where the brief is ambiguous.
"""

import argparse
import bisect
import csv
import json
import os
import re
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

TOLERANCE = Decimal("0.10")
STAGES = ["lead", "qualified", "proposal", "negotiation", "won"]
DIMENSIONS = ["product", "price", "channel", "service", "customer"]
ZERO = Decimal(0)


class DataError(Exception):
    """A value that cannot be read; the message says file, row and column."""


# ---------------------------------------------------------------------------
# Calendar helpers
# ---------------------------------------------------------------------------

def add_months(d, n):
    """First-of-month date d shifted by n months (periods always start on the 1st)."""
    if d.day != 1:
        raise ValueError("add_months expects a first-of-month date, got %s" % d)
    k = d.year * 12 + (d.month - 1) + n
    return date(k // 12, k % 12 + 1, 1)


def month_label(d):
    return "%04d-%02d" % (d.year, d.month)


def months_between(start, end):
    """Labels 'YYYY-MM' of the months in [start, end)."""
    out = []
    d = start
    while d < end:
        out.append(month_label(d))
        d = add_months(d, 1)
    return out


class Period:
    GRAIN_MONTHS = {"month": 1, "quarter": 3, "year": 12}

    def __init__(self, grain, start, fiscal_start):
        self.grain = grain
        self.start = start
        self.fs = fiscal_start
        self.end = add_months(start, self.GRAIN_MONTHS[grain])

    @classmethod
    def parse(cls, text, fiscal_start=1):
        if not 1 <= fiscal_start <= 12:
            raise ValueError("fiscal year start must be 1..12")
        m = re.fullmatch(r"(\d{4})-(\d{2})", text)
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
            if not 1 <= mo <= 12:
                raise ValueError("bad month in period %r" % text)
            return cls("month", date(y, mo, 1), fiscal_start)
        m = re.fullmatch(r"(\d{4})-Q([1-4])", text)
        if m:
            y, q = int(m.group(1)), int(m.group(2))
            return cls("quarter", add_months(date(y, fiscal_start, 1), 3 * (q - 1)), fiscal_start)
        m = re.fullmatch(r"(\d{4})", text)
        if m:
            return cls("year", date(int(m.group(1)), fiscal_start, 1), fiscal_start)
        raise ValueError("period must be YYYY-MM, YYYY-Qn or YYYY, got %r" % text)

    @property
    def length(self):
        return self.GRAIN_MONTHS[self.grain]

    @property
    def as_of(self):
        return self.end - timedelta(days=1)

    @property
    def label(self):
        if self.grain == "month":
            return month_label(self.start)
        fy = self.start.year if self.start.month >= self.fs else self.start.year - 1
        if self.grain == "year":
            return "%04d" % fy
        offset = (self.start.year * 12 + self.start.month - 1) - (fy * 12 + self.fs - 1)
        return "%04d-Q%d" % (fy, offset // 3 + 1)

    def shift(self, n_periods):
        return Period(self.grain, add_months(self.start, n_periods * self.length), self.fs)

    def previous(self):
        return self.shift(-1)

    def year_ago(self):
        return Period(self.grain, add_months(self.start, -12), self.fs)

    def months(self):
        return months_between(self.start, self.end)

    def last_month(self):
        return month_label(add_months(self.end, -1))

    def series(self):
        n = {"month": 13, "quarter": 8, "year": 5}[self.grain]
        return [self.shift(-k) for k in range(n - 1, -1, -1)]

    def __repr__(self):
        return "Period(%s [%s, %s))" % (self.label, self.start, self.end)


# ---------------------------------------------------------------------------
# Reading the data contract (CSV only)
# ---------------------------------------------------------------------------

def _date(s, loc):
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise DataError("%s: not a date (YYYY-MM-DD): %r" % (loc, s))


def _month(s, loc):
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", s):
        raise DataError("%s: not a month (YYYY-MM): %r" % (loc, s))
    return s


def _dec(s, loc):
    try:
        d = Decimal(s.strip())
    except Exception:
        raise DataError("%s: not a number: %r" % (loc, s))
    if not d.is_finite():
        raise DataError("%s: not a finite number: %r" % (loc, s))
    return d


def _bool(s, loc):
    v = s.strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise DataError("%s: not a boolean (true/false): %r" % (loc, s))


def _str(s, loc):
    return s


# columns used by the figures and how they are typed; other columns are kept as strings
SCHEMA = {
    "orders": {"order_id": _str, "order_date": _date, "customer_id": _str, "channel": _str,
               "region": _str, "amount": _dec},
    "customers": {"customer_id": _str, "account_manager": _str},
    "targets": {"month": _month, "metric": _str, "dimension": _str, "dimension_value": _str,
                "target": _dec},
    "opportunities": {"opportunity_id": _str, "created_date": _date, "stage": _str,
                      "max_stage_reached": _str, "closed_date": _date, "amount": _dec,
                      "lost_reason": _str, "lost_to_competitor": _str},
    "contracts": {"contract_id": _str, "end_date": _date, "renewed": _bool},
    "channel_spend": {"month": _month, "channel": _str, "spend": _dec},
    "surveys": {"response_date": _date, "nps_score": _dec, "csat_score": _dec},
    "usage": {"month": _month, "customer_id": _str, "active_hours": _dec},
    "competitors": {"competitor_id": _str},
    "competitor_scores": {"month": _month, "competitor_id": _str, "dimension": _str,
                          "score": _dec},
    "competitor_prices": {"month": _month, "competitor_id": _str, "product_id": _str,
                          "price": _dec},
    "market_size": {"month": _month, "segment": _str, "market_revenue": _dec},
}


def read_table(data_dir, name, notes):
    path = os.path.join(data_dir, name + ".csv")
    if not os.path.exists(path):
        if os.path.exists(os.path.join(data_dir, name + ".parquet")):
            raise DataError("%s.parquet: Parquet is not supported by the reference (CSV only)" % name)
        notes.append("%s.csv missing: treated as an empty table" % name)
        return []
    schema = SCHEMA[name]
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            return []
        missing = [c for c in schema if c not in header]
        if missing:
            raise DataError("%s.csv: missing column(s) %s" % (name, ", ".join(missing)))
        idx = {c: header.index(c) for c in schema}
        for line_no, rec in enumerate(reader, start=2):
            if not rec:
                continue
            row = {}
            for col, conv in schema.items():
                i = idx[col]
                raw = rec[i] if i < len(rec) else ""
                if raw == "":
                    row[col] = None
                else:
                    row[col] = conv(raw, "%s.csv row %d column %s" % (name, line_no, col))
            rows.append(row)
    return rows


def load(data_dir):
    notes = []
    tables = {name: read_table(data_dir, name, notes) for name in SCHEMA}
    return tables, notes


# ---------------------------------------------------------------------------
# Small numeric helpers
# ---------------------------------------------------------------------------

def ratio(num, den):
    """num / den as a float; None ("no data") when either is None or den is zero."""
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den)


def to_decimal(x):
    if x is None:
        return None
    if isinstance(x, Decimal):
        return x
    if isinstance(x, int):
        return Decimal(x)
    return Decimal(repr(x))


def status_of(value, target, direction, t=TOLERANCE):
    """domain.md §3 / DEFINITIONS.md general rules.  Comparisons are exact (Decimal)."""
    if direction == "none":
        return "watch"
    if target is None:
        return "no_target"
    if value is None:
        return "no_data"
    v, tg = to_decimal(value), to_decimal(target)
    if direction == "higher":
        if v >= tg:
            return "on_track"
        if v >= tg * (1 - t):
            return "at_risk"
        return "off_track"
    if direction == "lower":
        if v <= tg:
            return "on_track"
        if v <= tg * (1 + t):
            return "at_risk"
        return "off_track"
    raise ValueError(direction)


def ntile(n_rows, buckets=5):
    """Bucket numbers (1-based) of n_rows ordered rows, as SQL NTILE(buckets)."""
    base, extra = divmod(n_rows, buckets)
    out = []
    for b in range(1, buckets + 1):
        size = base + (1 if b <= extra else 0)
        out.extend([b] * size)
    return out


def abc_tiers(revenue_by_customer):
    """{customer: 'A'|'B'|'C'}: ranked by revenue desc, ties by customer_id; A when the
    revenue ranked above is < 80 % of the total, B when < 95 %, else C (exact decimals)."""
    total = sum(revenue_by_customer.values(), ZERO)
    ranked = sorted(revenue_by_customer.items(), key=lambda kv: (-kv[1], kv[0]))
    above = ZERO
    out = {}
    for cid, m in ranked:
        if above < total * Decimal("0.80"):
            out[cid] = "A"
        elif above < total * Decimal("0.95"):
            out[cid] = "B"
        else:
            out[cid] = "C"
        above += m
    return out


def value_segment(r, f, m):
    if r >= 4 and f >= 4 and m >= 4:
        return "high_value_stable"
    if r >= 4:
        return "high_potential_growth"
    if r <= 2 and f >= 3:
        return "at_risk"
    return "low_value_to_activate"


# ---------------------------------------------------------------------------
# The computation
# ---------------------------------------------------------------------------

class Reference:
    def __init__(self, tables):
        self.t = tables
        # order lines sorted by date (lines without a date never fall in a period)
        lines = [o for o in tables["orders"] if o["order_date"] is not None]
        lines.sort(key=lambda o: o["order_date"])
        self.lines = lines
        self.line_dates = [o["order_date"] for o in lines]
        self.first_order = {}
        for o in lines:
            c = o["customer_id"]
            if c is None:
                continue
            if c not in self.first_order or o["order_date"] < self.first_order[c]:
                self.first_order[c] = o["order_date"]
        # customers (first row wins on a duplicated id)
        self.customers = {}
        for c in tables["customers"]:
            cid = c["customer_id"]
            if cid is not None and cid not in self.customers:
                self.customers[cid] = c
        # targets: (metric, dimension, value) -> {month: summed target}
        self.targets = {}
        for r in tables["targets"]:
            if r["target"] is None or r["month"] is None:
                continue
            key = (r["metric"], r["dimension"], r["dimension_value"])
            per_month = self.targets.setdefault(key, {})
            per_month[r["month"]] = per_month.get(r["month"], ZERO) + r["target"]
        self._agg_cache = {}

    # -- order aggregates over [start, end) --------------------------------
    def lines_in(self, start, end):
        i = bisect.bisect_left(self.line_dates, start)
        j = bisect.bisect_left(self.line_dates, end)
        return self.lines[i:j]

    def agg(self, start, end):
        key = (start, end)
        if key in self._agg_cache:
            return self._agg_cache[key]
        revenue = ZERO
        order_ids = set()
        cust_orders = {}
        cust_rev = {}
        cust_last = {}
        by_region = {}
        by_channel = {}
        for o in self.lines_in(start, end):
            amt = o["amount"]
            c = o["customer_id"]
            oid = o["order_id"]
            # nulls are not counted as an order / a customer (SQL COUNT DISTINCT semantics),
            # but their amounts still add to the revenue of the period
            if oid is not None:
                order_ids.add(oid)
            if c is not None:
                ids = cust_orders.setdefault(c, set())
                if oid is not None:
                    ids.add(oid)
                if c not in cust_last or o["order_date"] > cust_last[c]:
                    cust_last[c] = o["order_date"]
                cust_rev.setdefault(c, ZERO)
            by_region.setdefault(o["region"], ZERO)
            by_channel.setdefault(o["channel"], ZERO)
            if amt is not None:  # SQL SUM ignores nulls
                revenue += amt
                if c is not None:
                    cust_rev[c] += amt
                by_region[o["region"]] += amt
                by_channel[o["channel"]] += amt
        a = {
            "revenue": revenue, "order_ids": order_ids, "cust_orders": cust_orders,
            "cust_rev": cust_rev, "cust_last": cust_last, "by_region": by_region,
            "by_channel": by_channel,
        }
        self._agg_cache[key] = a
        return a

    def target(self, metric, dimension, value, period):
        per_month = self.targets.get((metric, dimension, value))
        if per_month is None:
            return None
        total = ZERO
        for m in period.months():
            if m not in per_month:
                return None
            total += per_month[m]
        return total

    # -- KPI values --------------------------------------------------------
    def kpi_values(self, p):
        a = self.agg(p.start, p.end)
        months = set(p.months())
        v = {}
        revenue = a["revenue"]
        n_orders = len(a["order_ids"])
        active = set(a["cust_orders"])
        v["revenue"] = revenue
        rev_target = self.target("revenue", "all", "*", p)
        v["revenue_attainment"] = ratio(revenue, rev_target)
        v["orders"] = n_orders
        v["aov"] = ratio(revenue, n_orders)
        v["active_customers"] = len(active)
        new = sum(1 for c, d in self.first_order.items() if p.start <= d < p.end)
        v["new_customers"] = new
        v["new_customer_attainment"] = ratio(new, self.target("new_customers", "all", "*", p))
        prev = p.previous()
        prev_active = set(self.agg(prev.start, prev.end)["cust_orders"])
        v["retention_rate"] = ratio(len(prev_active & active), len(prev_active))
        repeat = sum(1 for c, ids in a["cust_orders"].items() if len(ids) >= 2)
        v["repurchase_rate"] = ratio(repeat, len(active))
        decided = [k for k in self.t["contracts"]
                   if k["end_date"] is not None and p.start <= k["end_date"] < p.end
                   and k["renewed"] is not None]
        v["renewal_rate"] = ratio(sum(1 for k in decided if k["renewed"]), len(decided))
        closed = [o for o in self.t["opportunities"]
                  if o["closed_date"] is not None and p.start <= o["closed_date"] < p.end]
        won = [o for o in closed if o["stage"] == "won"]
        lost = [o for o in closed if o["stage"] == "lost"]
        v["win_rate"] = ratio(len(won), len(won) + len(lost))
        cycles = [(o["closed_date"] - o["created_date"]).days for o in won
                  if o["created_date"] is not None]
        v["sales_cycle_days"] = ratio(sum(cycles), len(cycles))
        spend_rows = [s for s in self.t["channel_spend"]
                      if s["month"] in months and s["spend"] is not None]
        total_spend = sum((s["spend"] for s in spend_rows), ZERO) if spend_rows else None
        v["channel_roi"] = ratio(revenue, total_spend)
        answers = [s for s in self.t["surveys"]
                   if s["response_date"] is not None and p.start <= s["response_date"] < p.end]
        nps = [s["nps_score"] for s in answers if s["nps_score"] is not None]
        if nps:
            promoters = sum(1 for x in nps if x >= 9)
            detractors = sum(1 for x in nps if x <= 6)
            v["nps"] = 100 * (promoters / len(nps) - detractors / len(nps))
        else:
            v["nps"] = None
        csat = [s["csat_score"] for s in answers if s["csat_score"] is not None]
        v["csat"] = ratio(sum(1 for x in csat if x >= 4), len(csat))
        ms = self.market_share_rows(p)
        if ms:
            ours = sum((r["revenue"] for r in ms), ZERO)
            market = sum((r["market_revenue"] for r in ms), ZERO)
            v["market_share"] = ratio(ours, market)
        else:
            v["market_share"] = None
        top = sorted(a["cust_rev"].items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        v["top10_share"] = ratio(sum((m for _, m in top), ZERO), revenue)
        return v

    # (id, direction, target function)
    def kpi_specs(self, p):
        return [
            ("revenue", "higher", self.target("revenue", "all", "*", p)),
            ("revenue_attainment", "higher", Decimal("0.90")),
            ("orders", "higher", None),
            ("aov", "higher", None),
            ("active_customers", "higher", None),
            ("new_customers", "higher", self.target("new_customers", "all", "*", p)),
            ("new_customer_attainment", "higher", Decimal("1.00")),
            ("retention_rate", "higher", None),
            ("repurchase_rate", "higher", None),
            ("renewal_rate", "higher", Decimal("0.85")),
            ("win_rate", "higher", None),
            ("sales_cycle_days", "lower", Decimal("30")),
            ("channel_roi", "higher", None),
            ("nps", "higher", None),
            ("csat", "higher", Decimal("0.90")),
            ("market_share", "higher", None),
            ("top10_share", "none", None),
        ]

    def kpis(self, p):
        cur = self.kpi_values(p)
        prev_p, ya_p = p.previous(), p.year_ago()
        prev, ya = self.kpi_values(prev_p), self.kpi_values(ya_p)
        out = []
        for kid, direction, target in self.kpi_specs(p):
            value = cur[kid]
            out.append({
                "id": kid,
                "value": value,
                "target": target,
                "attainment": ratio(value, target),
                "status": status_of(value, target, direction),
                "previous": {"period": prev_p.label, "value": prev[kid]},
                "year_ago": {"period": ya_p.label, "value": ya[kid]},
            })
        return out

    # -- tables --------------------------------------------------------------
    def attainment_by(self, p, dimension):
        a = self.agg(p.start, p.end)
        revenue = a["by_region"] if dimension == "region" else a["by_channel"]
        months = set(p.months())
        keys = set(k for k in revenue if k is not None)
        for (metric, dim, val), per_month in self.targets.items():
            if metric == "revenue" and dim == dimension and months & set(per_month):
                keys.add(val)
        rows = []
        for k in sorted(keys):
            rev = revenue.get(k, ZERO)
            tg = self.target("revenue", dimension, k, p)
            rows.append({"key": k, "revenue": rev, "target": tg, "attainment": ratio(rev, tg),
                         "status": status_of(rev, tg, "higher")})
        return rows

    def channel_roi_rows(self, p):
        a = self.agg(p.start, p.end)
        months = set(p.months())
        spend = {}
        for s in self.t["channel_spend"]:
            if s["month"] in months and s["spend"] is not None:
                spend[s["channel"]] = spend.get(s["channel"], ZERO) + s["spend"]
        rows = []
        for ch in sorted(set(k for k in a["by_channel"] if k is not None) | set(spend)):
            rev = a["by_channel"].get(ch, ZERO)
            sp = spend.get(ch)
            rows.append({"channel": ch, "revenue": rev, "spend": sp, "roi": ratio(rev, sp)})
        return rows

    def funnel_rows(self, p):
        rank = {s: i for i, s in enumerate(STAGES)}
        reached = [0] * len(STAGES)
        for o in self.t["opportunities"]:
            if o["created_date"] is None or not (p.start <= o["created_date"] < p.end):
                continue
            r = rank.get(o["max_stage_reached"])
            if r is None:
                continue
            for i in range(r + 1):
                reached[i] += 1
        rows = []
        for i, s in enumerate(STAGES):
            conv = None if i == 0 else ratio(reached[i], reached[i - 1])
            rows.append({"stage": s, "reached": reached[i], "conversion_from_previous": conv})
        return rows

    def rfm_rows(self, end):
        """RFM over the 12 months ending at `end` (exclusive); as-of = end - 1 day."""
        as_of = end - timedelta(days=1)
        a = self.agg(add_months(end, -12), end)
        cust = []
        for c, ids in a["cust_orders"].items():
            cust.append({"customer_id": c, "r_days": (as_of - a["cust_last"][c]).days,
                         "f": len(ids), "m": a["cust_rev"][c]})
        n = len(cust)
        buckets = ntile(n)
        for key, col in ((lambda r: (r["m"], r["customer_id"]), "m_score"),
                         (lambda r: (r["f"], r["customer_id"]), "f_score"),
                         (lambda r: (-r["r_days"], r["customer_id"]), "r_score")):
            for row, b in zip(sorted(cust, key=key), buckets):
                row[col] = b
        tiers = abc_tiers({r["customer_id"]: r["m"] for r in cust})
        for r in cust:
            r["segment"] = value_segment(r["r_score"], r["f_score"], r["m_score"])
            r["abc_tier"] = tiers[r["customer_id"]]
        cust.sort(key=lambda r: r["customer_id"])
        return cust

    def lifecycle_rows(self, p):
        as_of = p.as_of
        active12 = self.agg(add_months(p.end, -12), p.end)["cust_orders"]
        growth_start = add_months(p.end, -6)
        cur_rev = self.agg(p.start, p.end)["cust_rev"]
        before = [self.agg(q.start, q.end)["cust_rev"] for q in (p.shift(-1), p.shift(-2), p.shift(-3))]
        rows = []
        for cid in sorted(self.customers):
            first = self.first_order.get(cid)
            if first is None or first > as_of:
                stage = "potential"
            elif cid not in active12:
                stage = "churned"
            elif growth_start <= first < p.end:
                stage = "growth"
            else:
                rev = cur_rev.get(cid, ZERO)
                hist = sum((b.get(cid, ZERO) for b in before), ZERO)  # missing period = 0
                # rev >= 0.70 * hist / 3   <=>   30 * rev >= 7 * hist  (exact)
                if rev > 0 and 30 * rev >= 7 * hist:
                    stage = "mature"
                else:
                    stage = "decline"
            rows.append({"customer_id": cid, "stage": stage})
        return rows

    def warning_rows(self, p, lifecycle):
        usage = {}
        for u in self.t["usage"]:
            if u["active_hours"] is None or u["customer_id"] is None:
                continue
            key = (u["customer_id"], u["month"])
            usage[key] = usage.get(key, ZERO) + u["active_hours"]
        last = p.last_month()
        last_d = add_months(p.end, -1)
        preceding = [month_label(add_months(last_d, -k)) for k in (1, 2, 3)]
        rows = []
        for (cid, month), hours in usage.items():
            if month != last:
                continue
            earlier = [usage[(cid, m)] for m in preceding if (cid, m) in usage]
            if not earlier:
                continue
            total = sum(earlier, ZERO)
            # hours <= 0.70 * total / n   <=>   10 * n * hours <= 7 * total  (exact)
            if 10 * len(earlier) * hours <= 7 * total:
                avg = total / len(earlier)
                change = float(hours) / float(avg) - 1 if avg != 0 else None
                detail = "active hours %s in %s vs %.1f average over %d preceding month(s)%s" % (
                    hours, last, avg, len(earlier),
                    "" if change is None else " (%+.0f%%)" % (100 * change))
                rows.append({"customer_id": cid, "kind": "usage_drop", "detail": detail})
        prev_tiers = {r["customer_id"]: r["abc_tier"] for r in self.rfm_rows(p.start)}
        stage = {r["customer_id"]: r["stage"] for r in lifecycle}
        for cid, tier in prev_tiers.items():
            if tier == "A" and stage.get(cid) == "decline":
                rows.append({"customer_id": cid, "kind": "high_value_decline",
                             "detail": "ABC tier A over the 12 months to %s, in decline as of %s"
                                       % (p.start - timedelta(days=1), p.as_of)})
        for r in rows:
            c = self.customers.get(r["customer_id"])
            r["account_manager"] = c["account_manager"] if c else None
        rows.sort(key=lambda r: (r["customer_id"], r["kind"]))
        return rows

    def market_share_rows(self, p):
        months = set(p.months())
        market = {}
        for r in self.t["market_size"]:
            if r["month"] in months and r["market_revenue"] is not None and r["segment"] is not None:
                market[r["segment"]] = market.get(r["segment"], ZERO) + r["market_revenue"]
        by_region = self.agg(p.start, p.end)["by_region"]
        rows = []
        for seg in sorted(market):
            rev = by_region.get(seg, ZERO)
            rows.append({"segment": seg, "revenue": rev, "market_revenue": market[seg],
                         "share": ratio(rev, market[seg])})
        return rows

    def competitor_score_rows(self, p):
        last_d = add_months(p.end, -1)
        last, before = month_label(last_d), month_label(add_months(last_d, -3))
        scores = {}
        for r in self.t["competitor_scores"]:
            if r["score"] is None:
                continue
            scores[(r["month"], r["competitor_id"], r["dimension"])] = r["score"]
        rows = []
        for (month, comp, dim), score in scores.items():
            if month != last:
                continue
            old = scores.get((before, comp, dim))
            rows.append({"competitor_id": comp, "dimension": dim, "score": score,
                         "change_vs_prev_quarter": None if old is None else score - old})
        dim_rank = {d: i for i, d in enumerate(DIMENSIONS)}
        rows.sort(key=lambda r: (r["competitor_id"], dim_rank.get(r["dimension"], 99), r["dimension"]))
        return rows

    def price_index_rows(self, p):
        last = p.last_month()
        prices = {}
        for r in self.t["competitor_prices"]:
            if r["month"] == last and r["price"] is not None:
                prices.setdefault(r["competitor_id"], {})[r["product_id"]] = r["price"]
        ours = prices.get("self", {})
        rows = []
        for comp in sorted(c for c in prices if c != "self"):
            ratios = [float(price) / float(ours[prod]) for prod, price in prices[comp].items()
                      if prod in ours and ours[prod] != 0]
            if ratios:
                rows.append({"competitor_id": comp, "price_index": sum(ratios) / len(ratios)})
        return rows

    def lost_deal_rows(self, p):
        groups = {}
        for o in self.t["opportunities"]:
            if o["stage"] != "lost" or o["closed_date"] is None:
                continue
            if not (p.start <= o["closed_date"] < p.end):
                continue
            key = (o["lost_to_competitor"] or "", o["lost_reason"] or "")
            g = groups.setdefault(key, [0, ZERO])
            g[0] += 1
            if o["amount"] is not None:
                g[1] += o["amount"]
        return [{"competitor_id": c, "lost_reason": r, "deals": g[0], "amount": g[1]}
                for (c, r), g in sorted(groups.items())]

    def tables(self, p):
        lifecycle = self.lifecycle_rows(p)
        return {
            "attainment_by_region": (["key", "revenue", "target", "attainment", "status"],
                                     self.attainment_by(p, "region")),
            "attainment_by_channel": (["key", "revenue", "target", "attainment", "status"],
                                      self.attainment_by(p, "channel")),
            "channel_roi": (["channel", "revenue", "spend", "roi"], self.channel_roi_rows(p)),
            "funnel": (["stage", "reached", "conversion_from_previous"], self.funnel_rows(p)),
            "rfm": (["customer_id", "r_days", "f", "m", "r_score", "f_score", "m_score",
                     "segment", "abc_tier"], self.rfm_rows(p.end)),
            "lifecycle": (["customer_id", "stage"], lifecycle),
            "warnings": (["customer_id", "account_manager", "kind", "detail"],
                         self.warning_rows(p, lifecycle)),
            "market_share": (["segment", "revenue", "market_revenue", "share"],
                             self.market_share_rows(p)),
            "competitor_scores": (["competitor_id", "dimension", "score",
                                   "change_vs_prev_quarter"], self.competitor_score_rows(p)),
            "price_index": (["competitor_id", "price_index"], self.price_index_rows(p)),
            "lost_deals": (["competitor_id", "lost_reason", "deals", "amount"],
                           self.lost_deal_rows(p)),
        }


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

MONEY_COLUMNS = {"revenue", "target", "spend", "m", "market_revenue", "amount"}


def csv_cell(col, v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, Decimal):
        if col in MONEY_COLUMNS:
            return format(v, ".2f")
        return str(v)  # scores and score changes: exact decimal text
    return str(v)


def json_num(v):
    if isinstance(v, Decimal):
        return float(v)
    return v


def write_outputs(ref, p, out_dir):
    os.makedirs(os.path.join(out_dir, "tables"), exist_ok=True)
    kpis = ref.kpis(p)
    doc = {"period": p.label, "as_of": p.as_of.isoformat(), "kpis": []}
    for k in kpis:
        doc["kpis"].append({
            "id": k["id"], "value": json_num(k["value"]), "target": json_num(k["target"]),
            "attainment": k["attainment"], "status": k["status"],
            "previous": {"period": k["previous"]["period"],
                         "value": json_num(k["previous"]["value"])},
            "year_ago": {"period": k["year_ago"]["period"],
                         "value": json_num(k["year_ago"]["value"])},
        })
    with open(os.path.join(out_dir, "kpis.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    for name, (cols, rows) in ref.tables(p).items():
        with open(os.path.join(out_dir, "tables", name + ".csv"), "w", newline="",
                  encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            for r in rows:
                w.writerow([csv_cell(c, r.get(c)) for c in cols])
    # extra: the trailing series (13 months / 8 quarters / 5 years ending with P)
    series = {"grain": p.grain, "periods": []}
    for q in p.series():
        vals = ref.kpi_values(q)
        series["periods"].append({"period": q.label,
                                  "values": {k: json_num(v) for k, v in vals.items()}})
    with open(os.path.join(out_dir, "series.json"), "w", encoding="utf-8") as f:
        json.dump(series, f, indent=2)
        f.write("\n")
    return doc


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------

def self_test():
    failures = []

    def check(name, got, want):
        if got != want:
            failures.append("%s: got %r, want %r" % (name, got, want))

    # NTILE(5)
    check("ntile 0", ntile(0), [])
    check("ntile 3", ntile(3), [1, 2, 3])
    check("ntile 5", ntile(5), [1, 2, 3, 4, 5])
    check("ntile 7", ntile(7), [1, 1, 2, 2, 3, 4, 5])
    check("ntile 12", ntile(12), [1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5])
    check("ntile 10", ntile(10), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])

    # ABC boundaries: above == 80 % exactly is B, above == 95 % exactly is C
    D = Decimal
    check("abc", abc_tiers({"a": D(50), "b": D(30), "c": D(15), "d": D(5)}),
          {"a": "A", "b": "A", "c": "B", "d": "C"})
    check("abc ties by id", abc_tiers({"y": D(40), "x": D(40), "z": D(20)}),
          {"x": "A", "y": "A", "z": "B"})  # above z = 80 -> B
    check("abc just below", abc_tiers({"a": D("79.99"), "b": D("20.01")}),
          {"a": "A", "b": "A"})
    check("abc one", abc_tiers({"a": D(10)}), {"a": "A"})

    # Status thresholds
    check("st on", status_of(D(100), D(100), "higher"), "on_track")
    check("st risk", status_of(D(90), D(100), "higher"), "at_risk")
    check("st off", status_of(D("89.99"), D(100), "higher"), "off_track")
    check("st float risk", status_of(0.81, D("0.90"), "higher"), "at_risk")
    check("st float off", status_of(0.8099999, D("0.90"), "higher"), "off_track")
    check("st low on", status_of(30.0, D(30), "lower"), "on_track")
    check("st low risk", status_of(33.0, D(30), "lower"), "at_risk")
    check("st low off", status_of(33.01, D(30), "lower"), "off_track")
    check("st no target", status_of(5, None, "higher"), "no_target")
    check("st no target null", status_of(None, None, "higher"), "no_target")
    check("st no data", status_of(None, D(1), "higher"), "no_data")
    check("st watch", status_of(0.5, None, "none"), "watch")
    check("ratio zero den", ratio(D(5), 0), None)
    check("ratio none", ratio(None, 3), None)

    # Segments
    check("seg hvs", value_segment(4, 4, 4), "high_value_stable")
    check("seg hpg", value_segment(5, 3, 5), "high_potential_growth")
    check("seg risk", value_segment(2, 3, 1), "at_risk")
    check("seg low", value_segment(3, 5, 5), "low_value_to_activate")

    # Periods, fiscal quarters
    p = Period.parse("2026-Q3")
    check("q3 cal", (p.start, p.end, p.as_of), (date(2026, 7, 1), date(2026, 10, 1), date(2026, 9, 30)))
    check("q3 prev", p.previous().label, "2026-Q2")
    check("q3 ya", p.year_ago().label, "2025-Q3")
    p = Period.parse("2026-Q1", 4)
    check("fq1", (p.start, p.end), (date(2026, 4, 1), date(2026, 7, 1)))
    check("fq1 prev", (p.previous().label, p.previous().start), ("2025-Q4", date(2026, 1, 1)))
    check("fq1 ya", (p.year_ago().label, p.year_ago().start), ("2025-Q1", date(2025, 4, 1)))
    p = Period.parse("2026-Q4", 4)
    check("fq4", (p.start, p.end, p.label), (date(2027, 1, 1), date(2027, 4, 1), "2026-Q4"))
    check("fq4 months", p.months(), ["2027-01", "2027-02", "2027-03"])
    p = Period.parse("2026", 4)
    check("fy", (p.start, p.end, p.as_of, p.label),
          (date(2026, 4, 1), date(2027, 4, 1), date(2027, 3, 31), "2026"))
    check("fy prev", (p.previous().label, p.previous().start), ("2025", date(2025, 4, 1)))
    check("fy series", [q.label for q in p.series()], ["2022", "2023", "2024", "2025", "2026"])
    p = Period.parse("2026-Q1", 11)
    check("fq nov", (p.start, p.end, p.label), (date(2026, 11, 1), date(2027, 2, 1), "2026-Q1"))
    check("fq nov prev", p.previous().label, "2025-Q4")
    check("fq nov q2", Period.parse("2026-Q2", 11).start, date(2027, 2, 1))
    p = Period.parse("2026-10", 4)
    check("month ignores fiscal", (p.start, p.end, p.label), (date(2026, 10, 1), date(2026, 11, 1), "2026-10"))
    check("month prev jan", Period.parse("2026-01").previous().label, "2025-12")
    check("series 13", [q.label for q in Period.parse("2026-10").series()][::12], ["2025-10", "2026-10"])
    check("series 8q", [q.label for q in Period.parse("2026-Q3").series()][0], "2024-Q4")
    for bad in ("2026-13", "2026-Q5", "26", "2026-1"):
        try:
            Period.parse(bad)
            failures.append("period %r accepted" % bad)
        except ValueError:
            pass

    # Leap days
    p = Period.parse("2024-02")
    check("leap as_of", p.as_of, date(2024, 2, 29))
    check("leap 12m", add_months(p.end, -12), date(2023, 3, 1))
    check("non-leap as_of", Period.parse("2023-02").as_of, date(2023, 2, 28))
    check("leap year as_of", Period.parse("2023", 3).as_of, date(2024, 2, 29))
    check("leap r_days", (Period.parse("2024-02").as_of - date(2024, 2, 1)).days, 28)

    # A tiny end-to-end data set
    with tempfile.TemporaryDirectory() as d:
        def w(name, text):
            with open(os.path.join(d, name + ".csv"), "w") as f:
                f.write(text)
        w("orders", "order_id,order_date,customer_id,product_id,channel,region,sales_rep,quantity,unit_price,amount\n"
          "O1,2026-07-15,A,P1,direct,North,r1,1,100.00,100.00\n"
          "O2,2026-08-01,A,P1,direct,North,r1,1,100.00,100.10\n"
          "O2,2026-08-01,A,P2,direct,North,r1,1,0.20,0.20\n"
          "O3,2026-09-30,B,P1,online,South,r2,1,50.00,50.00\n"
          "O4,2026-09-01,A,P1,direct,North,r1,1,10.00,10.00\n"
          "O5,2026-09-02,A,P1,direct,North,r1,1,10.00,10.00\n"
          "O6,2025-01-10,C,P1,online,South,r2,1,70.00,70.00\n"
          "O7,2026-10-01,D,P1,online,East,r2,1,5.00,5.00\n")
        w("customers", "customer_id,name,industry,region,size,account_manager,created_date\n"
          "A,a,x,North,SME,am1,2020-01-01\nB,b,x,South,SME,am2,2020-01-01\n"
          "C,c,x,South,SME,am3,2020-01-01\nD,d,x,East,SME,am4,2020-01-01\n"
          "E,e,x,East,SME,am5,2020-01-01\n")
        w("targets", "month,metric,dimension,dimension_value,target\n"
          "2026-09,revenue,all,*,80.00\n2026-08,revenue,all,*,100.00\n"
          "2026-09,revenue,region,North,20.00\n2026-09,revenue,region,West,10.00\n"
          "2026-09,new_customers,all,*,1\n")
        w("opportunities", "opportunity_id,customer_id,created_date,stage,max_stage_reached,closed_date,amount,channel,lost_reason,lost_to_competitor\n"
          "X1,A,2026-09-01,won,won,2026-09-11,10.00,direct,,\n"
          "X2,A,2026-09-01,lost,proposal,2026-09-20,20.00,direct,price,C1\n"
          "X3,A,2026-09-05,lost,lead,2026-09-21,5.00,direct,price,C1\n"
          "X4,A,2026-09-05,qualified,qualified,,5.00,direct,,\n")
        w("contracts", "contract_id,customer_id,start_date,end_date,renewed\n"
          "K1,A,2025-09-01,2026-09-01,true\nK2,B,2025-09-01,2026-09-02,false\n"
          "K3,B,2025-09-01,2026-09-03,\n")
        w("surveys", "response_date,customer_id,nps_score,csat_score\n"
          "2026-09-01,A,10,5\n2026-09-02,B,6,3\n2026-09-03,C,8,\n")
        w("usage", "month,customer_id,active_hours\n"
          "2026-06,A,10.0\n2026-08,A,20.0\n2026-09,A,10.5\n2026-09,B,1.0\n")
        tables, _ = load(d)
        ref = Reference(tables)
        p = Period.parse("2026-09")
        v = ref.kpi_values(p)
        check("e2e revenue", v["revenue"], D("70.00"))
        check("e2e orders", v["orders"], 3)
        check("e2e active", v["active_customers"], 2)
        check("e2e new", v["new_customers"], 1)              # B
        check("e2e retention", v["retention_rate"], 1.0)     # prev active {A}
        check("e2e repurchase", v["repurchase_rate"], 0.5)   # A has O4, O5
        check("e2e renewal", v["renewal_rate"], 0.5)
        check("e2e win", v["win_rate"], 1 / 3)
        check("e2e cycle", v["sales_cycle_days"], 10.0)
        check("e2e nps", v["nps"], 100 * (1 / 3 - 1 / 3))
        check("e2e csat", v["csat"], 0.5)
        check("e2e roi", v["channel_roi"], None)
        check("e2e top10", v["top10_share"], 1.0)
        q = Period.parse("2026-Q3")
        check("e2e q revenue", ref.kpi_values(q)["revenue"], D("270.30"))
        check("e2e q target missing month", ref.target("revenue", "all", "*", q), None)
        check("e2e funnel", [r["reached"] for r in ref.funnel_rows(p)], [4, 3, 2, 1, 1])
        check("e2e funnel conv", ref.funnel_rows(p)[1]["conversion_from_previous"], 3 / 4)
        att = {r["key"]: (r["revenue"], r["target"], r["status"]) for r in ref.attainment_by(p, "region")}
        check("e2e att", att, {"North": (D("20.00"), D("20.00"), "on_track"),
                               "South": (D("50.00"), None, "no_target"),
                               "West": (ZERO, D("10.00"), "off_track")})
        rfm = {r["customer_id"]: r for r in ref.rfm_rows(p.end)}
        check("e2e rfm ids", sorted(rfm), ["A", "B"])
        check("e2e rfm A", (rfm["A"]["r_days"], rfm["A"]["f"], rfm["A"]["m"]), (28, 4, D("220.30")))
        check("e2e rfm scores", (rfm["A"]["m_score"], rfm["B"]["m_score"], rfm["A"]["r_score"],
                                 rfm["B"]["r_score"]), (2, 1, 1, 2))
        life = {r["customer_id"]: r["stage"] for r in ref.lifecycle_rows(p)}
        # A first order 2026-07 within 6 months -> growth; C last order 2025-01 -> churned;
        # D first order after as_of -> potential; E none -> potential
        check("e2e lifecycle", life, {"A": "growth", "B": "growth", "C": "churned",
                                      "D": "potential", "E": "potential"})
        lt = ref.lifecycle_rows(Period.parse("2027-03"))
        check("e2e lifecycle later", {r["customer_id"]: r["stage"] for r in lt},
              {"A": "decline", "B": "decline", "C": "churned", "D": "growth", "E": "potential"})
        warns = ref.warning_rows(p, ref.lifecycle_rows(p))
        # A: 10.5 vs avg(20, 10) = 15 -> 10.5 <= 10.5 exactly: warning; B: no earlier rows
        check("e2e usage_drop", [(r["customer_id"], r["kind"], r["account_manager"]) for r in warns],
              [("A", "usage_drop", "am1")])
        check("e2e lost", ref.lost_deal_rows(p), [{"competitor_id": "C1", "lost_reason": "price",
                                                   "deals": 2, "amount": D("25.00")}])

    # Lifecycle: mature at exactly 70 % of the 3-period average, decline just below,
    # a period without orders counts as 0; quarter grain uses the 3 quarters before.
    with tempfile.TemporaryDirectory() as d:
        rows = ["order_id,order_date,customer_id,product_id,channel,region,sales_rep,quantity,unit_price,amount"]
        n = 0

        def order(day, cid, amount):
            nonlocal n
            n += 1
            rows.append("Q%d,%s,%s,P1,direct,North,r1,1,%s,%s" % (n, day, cid, amount, amount))
        for cid, last in (("M", "70.00"), ("N", "69.99"), ("Z", "23.34"), ("Y", "23.33")):
            order("2025-12-01", cid, "1.00")  # first order > 6 months before the end of P
            if cid in ("M", "N"):
                for day in ("2026-06-10", "2026-07-10", "2026-08-10"):
                    order(day, cid, "100.00")
            else:  # only one of the 3 previous months has revenue: average 100/3
                order("2026-08-10", cid, "100.00")
            order("2026-09-10", cid, last)
        order("2025-12-01", "Q", "1.00")
        order("2026-08-10", "Q", "5.00")   # nothing in P -> decline
        with open(os.path.join(d, "orders.csv"), "w") as f:
            f.write("\n".join(rows) + "\n")
        with open(os.path.join(d, "customers.csv"), "w") as f:
            f.write("customer_id,account_manager\nM,a\nN,a\nZ,a\nY,a\nQ,a\n")
        tables, _ = load(d)
        ref = Reference(tables)
        life = {r["customer_id"]: r["stage"] for r in ref.lifecycle_rows(Period.parse("2026-09"))}
        check("lifecycle mature/decline", life,
              {"M": "mature", "N": "decline", "Z": "mature", "Y": "decline", "Q": "decline"})
        # 2026-Q3 = Jul-Sep; 3 quarters before: Q2 (100), Q1 (0), 2025-Q4 (1) -> avg 101/3
        life = {r["customer_id"]: r["stage"] for r in ref.lifecycle_rows(Period.parse("2026-Q3"))}
        check("lifecycle quarter", life["M"], "mature")

    if failures:
        for f in failures:
            print("FAIL " + f, file=sys.stderr)
        print("self-test: %d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("self-test: all checks passed")
    return 0


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="data root holding the CSV tables")
    ap.add_argument("--period", help="2026-10, 2026-Q3 or 2026")
    ap.add_argument("--fiscal-year-start", type=int, default=1)
    ap.add_argument("--out", help="output folder")
    ap.add_argument("--self-test", action="store_true", help="run the built-in checks")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test()
    if not (args.data and args.period and args.out):
        ap.error("--data, --period and --out are required (or --self-test)")
    try:
        period = Period.parse(args.period, args.fiscal_year_start)
    except ValueError as e:
        ap.error(str(e))
    t0 = time.perf_counter()
    try:
        tables, notes = load(args.data)
    except DataError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    for n in notes:
        print("note: %s" % n, file=sys.stderr)
    ref = Reference(tables)
    write_outputs(ref, period, args.out)
    print("wrote %s for %s [%s, %s) in %.2fs" % (args.out, period.label, period.start,
                                                 period.end, time.perf_counter() - t0),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
