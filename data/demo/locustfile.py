"""Locust load for the demo shop: a step load (5 → 10 → 20 → 40 users) over the shop's endpoints.

Run by ``data/generate/demo.py`` as ``locust -f data/demo/locustfile.py --headless --csv … --csv-full-history``.
``PERFNB_DEMO_STEPS`` (``users:seconds,…``) overrides the steps (the healthy run uses a gentler load).
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, LoadTestShape, between, task

STEPS = [
    (int(u), int(s))
    for u, s in (
        part.split(":")
        for part in os.environ.get("PERFNB_DEMO_STEPS", "5:20,10:20,20:20,40:20").split(",")
    )
]


class Shopper(HttpUser):
    """A shopper who searches, looks at products, their orders and the sales report."""

    wait_time = between(0.05, 0.2)

    @task(4)
    def search(self) -> None:
        self.client.get(
            f"/search?email=customer{random.randint(1, 5000)}@example.com", name="/search"
        )

    @task(6)
    def product(self) -> None:
        # most shoppers look at the 40 popular products, the rest anywhere in the catalogue
        product = random.randint(1, 40) if random.random() < 0.9 else random.randint(1, 500)
        self.client.get(f"/product/{product}", name="/product")

    @task(2)
    def orders(self) -> None:
        self.client.get(f"/customers/{random.randint(1, 5000)}/orders", name="/customers/orders")

    @task(1)
    def report(self) -> None:
        self.client.get("/report", name="/report")

    @task(1)
    def home(self) -> None:
        self.client.get("/", name="/")


class Steps(LoadTestShape):
    """Hold each user level for its duration, then stop."""

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        total = 0
        for users, seconds in STEPS:
            total += seconds
            if elapsed < total:
                return users, float(users)
        return None
