from datetime import date
from decimal import Decimal

from timetracker.models import Mileage, PerDiem


def make_mileage(owner, **fields) -> Mileage:
    values = {
        "date": date(2024, 3, 4),
        "purpose": "Client visit",
        "from_location": "Berlin",
        "to_location": "Potsdam",
        "distance": Decimal("30.00"),
        "rate_per_unit": Decimal("0.300"),
    }
    values.update(fields)
    return Mileage.objects.create(owner=owner, **values)


def make_per_diem(owner, **fields) -> PerDiem:
    values = {
        "start_date": date(2024, 3, 4),
        "end_date": date(2024, 3, 6),
        "country": "Germany",
        "city": "Hamburg",
        "purpose": "Workshop",
        "full_days": 1,
        "partial_days": 2,
        "daily_rate": Decimal("28.00"),
        "partial_day_rate": Decimal("14.00"),
    }
    values.update(fields)
    return PerDiem.objects.create(owner=owner, **values)
