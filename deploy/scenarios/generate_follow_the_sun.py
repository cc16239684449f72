#!/usr/bin/env python3
"""Writes follow-the-sun.csv: one day of demand over 8 regions, 30-minute steps.

Each region's users are awake from about 07:00 to 23:00 local time with a peak in the early
afternoon, so the busiest region moves west around the world: Tokyo and Sydney, then Singapore
and Mumbai, then Frankfurt and London, then Virginia and San Jose. `autoplacer run` replays it at
720x (a day in two minutes), so machines visibly follow the sun.

Usage: deploy/scenarios/generate_follow_the_sun.py > deploy/scenarios/follow-the-sun.csv
"""
import math

START = 1717372800  # 2024-06-03T00:00:00Z, a Monday
STEP = 1800
# region: (UTC offset in hours, peak req/s)
REGIONS = {
    "nrt": (9, 90),
    "syd": (10, 45),
    "sin": (8, 55),
    "bom": (5.5, 60),
    "fra": (2, 75),
    "lhr": (1, 85),
    "iad": (-4, 130),
    "sjc": (-7, 80),
}


def demand(local_hour, peak):
    # Awake 07:00-23:00, a smooth bell peaking at 14:00, a little night traffic.
    if 7 <= local_hour <= 23:
        x = (local_hour - 7) / 16.0
        shape = math.sin(math.pi * x) ** 1.5
    else:
        shape = 0.0
    return max(0.02 * peak, peak * shape)


def main():
    print("timestamp,region,rps")
    for step in range(48):
        t = START + step * STEP
        utc_hour = step * STEP / 3600.0
        for region, (offset, peak) in REGIONS.items():
            local = (utc_hour + offset) % 24
            print(f"{t},{region},{demand(local, peak):.1f}")


if __name__ == "__main__":
    main()
