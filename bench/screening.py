"""Benchmark watchlist screening at scale: build time, memory, per-applicant latency.

Usage: .venv/bin/python bench/screening.py [--names 1000000] [--applicants 2000] [--seed 7]
       .venv/bin/python bench/screening.py --jobs 500   (screening jobs per second per worker)
       .venv/bin/python bench/screening.py --jobs 300 --profile /tmp/jobs.prof   (same, profiled)
       .venv/bin/python bench/screening.py --jobs 300 --filler 200000   (with earlier applications)
       .venv/bin/python bench/screening.py --jobs 300 --filler 200000 --faces
           (every application, earlier ones too, with a face template: the 1:N face check runs)

Builds a WatchlistIndex from the real UN and OFAC lists (../shared/data/watchlists, read by
eta.screening.lists.importers; the bench stops if a file is missing, --no-real-lists leaves them
out) plus generated people whose names come from name-part pools of several cultures, until the
index holds --names names. Then screens generated applicants, some of them perturbed listed names
(typos, dropped middle names, swapped order, other script), on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eta.screening.lists import importers  # noqa: E402
from eta.screening.types import BirthDate, Subject, WatchlistPerson  # noqa: E402
from eta.screening.watchlist import WatchlistIndex  # noqa: E402

DATA = ROOT / ".." / "shared" / "data" / "watchlists"

POOLS: dict[str, tuple[list[str], list[str], list[str]]] = {
    # culture: (given names, family-name stems, family-name endings)
    "arabic": (
        [
            "Mohammed",
            "Ahmed",
            "Ali",
            "Omar",
            "Khalid",
            "Hassan",
            "Hussein",
            "Ibrahim",
            "Youssef",
            "Abdullah",
            "Abdul",
            "Rahman",
            "Mustafa",
            "Tariq",
            "Faisal",
            "Saeed",
            "Hamza",
            "Bilal",
            "Karim",
            "Nasser",
            "Jamal",
            "Samir",
            "Walid",
            "Yahya",
            "Zaid",
            "Amin",
            "Fatima",
            "Aisha",
            "Mariam",
            "Layla",
            "Noor",
            "Huda",
            "Salma",
            "Rania",
        ],
        [
            "Al-Hassan",
            "Al-Masri",
            "Al-Tikriti",
            "Al-Rawi",
            "Haddad",
            "Khoury",
            "Mansour",
            "Nasrallah",
            "Qureshi",
            "Bakr",
            "Al-Shami",
            "Al-Baghdadi",
            "Al-Zahrani",
            "Al-Harbi",
            "Al-Ghamdi",
            "Hamdan",
            "Saleh",
            "Awad",
            "Darwish",
            "Farouk",
            "Al-Amin",
            "Al-Hakim",
            "Jaber",
            "Obeid",
            "Suleiman",
            "Zubair",
        ],
        ["", "", "i", "y"],
    ),
    "russian": (
        [
            "Aleksandr",
            "Sergei",
            "Dmitry",
            "Vladimir",
            "Ivan",
            "Nikolai",
            "Mikhail",
            "Andrei",
            "Alexei",
            "Yuri",
            "Oleg",
            "Pavel",
            "Igor",
            "Viktor",
            "Anatoly",
            "Boris",
            "Elena",
            "Olga",
            "Tatiana",
            "Natalia",
            "Irina",
            "Svetlana",
            "Anna",
            "Maria",
        ],
        [
            "Ivan",
            "Petr",
            "Smirn",
            "Kuznets",
            "Popov",
            "Sokol",
            "Lebed",
            "Kozl",
            "Novik",
            "Morozov",
            "Volk",
            "Solov",
            "Vasil",
            "Zaits",
            "Pavl",
            "Semen",
            "Golub",
            "Vinogr",
            "Bogdan",
            "Vorob",
            "Fedor",
            "Mikhail",
            "Belyak",
            "Tarasov",
            "Orlov",
            "Makar",
            "Zakhar",
        ],
        ["ov", "ev", "in", "sky", "enko", "chuk", "ovich"],
    ),
    "chinese": (
        [
            "Wei",
            "Fang",
            "Min",
            "Jing",
            "Lei",
            "Jun",
            "Yan",
            "Hui",
            "Ling",
            "Qiang",
            "Ming",
            "Hong",
            "Xin",
            "Bo",
            "Tao",
            "Yong",
            "Jie",
            "Hua",
            "Jian",
            "Ping",
            "Jinping",
            "Xiaoming",
            "Zhiwei",
            "Yuxuan",
            "Haoran",
            "Zihan",
        ],
        [
            "Wang",
            "Li",
            "Zhang",
            "Liu",
            "Chen",
            "Yang",
            "Huang",
            "Zhao",
            "Wu",
            "Zhou",
            "Xu",
            "Sun",
            "Ma",
            "Zhu",
            "Hu",
            "Guo",
            "He",
            "Gao",
            "Lin",
            "Luo",
            "Zheng",
            "Liang",
            "Xie",
            "Song",
            "Tang",
        ],
        [""],
    ),
    "korean": (
        [
            "Jong",
            "Un",
            "Song",
            "Il",
            "Chol",
            "Min",
            "Ho",
            "Young",
            "Hyun",
            "Ji",
            "Sung",
            "Tae",
            "Bin",
            "Kwang",
            "Nam",
            "Hyok",
            "Chang",
            "Su",
            "Bong",
        ],
        [
            "Kim",
            "Lee",
            "Park",
            "Choi",
            "Jung",
            "Kang",
            "Cho",
            "Yoon",
            "Jang",
            "Lim",
            "Han",
            "Ri",
            "Pak",
            "Choe",
            "Ko",
            "Ku",
            "Paek",
            "Mun",
        ],
        [""],
    ),
    "hispanic": (
        [
            "Jose",
            "Juan",
            "Carlos",
            "Luis",
            "Miguel",
            "Pedro",
            "Jorge",
            "Manuel",
            "Ricardo",
            "Alejandro",
            "Fernando",
            "Raul",
            "Maria",
            "Carmen",
            "Ana",
            "Isabel",
            "Lucia",
            "Sofia",
            "Valentina",
            "Camila",
        ],
        [
            "Garc",
            "Rodrig",
            "Martin",
            "Hernand",
            "Lop",
            "Gonzal",
            "Perez",
            "Sanch",
            "Ramir",
            "Torr",
            "Flor",
            "Rivera",
            "Gom",
            "Diaz",
            "Morales",
            "Reyes",
            "Cruz",
            "Ortiz",
            "Castill",
            "Romer",
            "Alvar",
            "Vasqu",
            "Jimen",
            "Ruiz",
            "Mendoz",
        ],
        ["ez", "ia", "o", "", "es", "a"],
    ),
    "anglo_germanic": (
        [
            "John",
            "James",
            "Robert",
            "Michael",
            "William",
            "David",
            "Thomas",
            "Richard",
            "Peter",
            "Hans",
            "Klaus",
            "Friedrich",
            "Stefan",
            "Markus",
            "Anna",
            "Mary",
            "Elizabeth",
            "Sarah",
            "Emma",
            "Katharina",
            "Julia",
            "Laura",
        ],
        [
            "Smith",
            "John",
            "Williams",
            "Brown",
            "Mill",
            "Davis",
            "Wils",
            "Taylor",
            "Anders",
            "Thomps",
            "Schmidt",
            "Schneider",
            "Fisch",
            "Web",
            "Meyer",
            "Wagner",
            "Beck",
            "Schulz",
            "Hoffmann",
            "Koch",
            "Richter",
            "Klein",
            "Wolf",
            "Neumann",
            "Schwarz",
            "Lind",
        ],
        ["", "son", "er", "mann", "s", "berg"],
    ),
    "south_asian": (
        [
            "Rahul",
            "Amit",
            "Sanjay",
            "Vijay",
            "Raj",
            "Arjun",
            "Imran",
            "Asif",
            "Farhan",
            "Sandeep",
            "Anil",
            "Sunil",
            "Priya",
            "Pooja",
            "Anjali",
            "Deepa",
            "Nisha",
            "Ayesha",
            "Sana",
        ],
        [
            "Sharma",
            "Patel",
            "Singh",
            "Kumar",
            "Gupta",
            "Khan",
            "Reddy",
            "Iyer",
            "Nair",
            "Chaudhry",
            "Malik",
            "Qureshi",
            "Mehta",
            "Joshi",
            "Rao",
            "Bhatt",
            "Kapoor",
            "Siddiqui",
            "Ahmed",
            "Hussain",
        ],
        ["", "", "i"],
    ),
    "west_african": (
        [
            "Abdoulaye",
            "Mamadou",
            "Ibrahima",
            "Moussa",
            "Ousmane",
            "Amadou",
            "Seydou",
            "Boubacar",
            "Kofi",
            "Kwame",
            "Chinedu",
            "Emeka",
            "Oluwaseun",
            "Aminata",
            "Fatoumata",
            "Awa",
            "Ngozi",
            "Adaeze",
        ],
        [
            "Diallo",
            "Traore",
            "Keita",
            "Coulibaly",
            "Toure",
            "Camara",
            "Sow",
            "Ba",
            "Ndiaye",
            "Diop",
            "Okafor",
            "Okonkwo",
            "Adeyemi",
            "Mensah",
            "Owusu",
            "Boateng",
            "Nwosu",
            "Balogun",
        ],
        ["", "", "u"],
    ),
}
CULTURES = list(POOLS)


# Syllables per culture: the hand-written pools above have only ~25 parts each, so a million
# generated names would be mostly exact namesakes. Two- and three-syllable inventions in each
# culture's sound give thousands of distinct parts, closer to a real list's spread.
def _words(text: str) -> list[str]:
    return text.split()


SYLLABLES: dict[str, list[str]] = {
    "arabic": _words(
        "ab ad af am an ar as az ba bad dar fa far ha ham har ja jab ka kar kha lu ma mah "
        "mas na nas qa ra rah sa sal sha ta tam wa wal ya za zu"
    ),
    "russian": _words(
        "bel bor vol gor dan dub zar kra lev mir nik pet ros sla tim fe ko ly mo ne po "
        "ra se to vi ya gri le"
    ),
    "chinese": _words(
        "an bai chang cheng dong fei gang hai hao jia jin kai lan mei ning qing rui shan "
        "tian wen xiao xue yi yu zhen zhi"
    ),
    "korean": _words(
        "chan dong gyu hwan jae jin kyung man myung rae seok seung sun won yeon yong hee jun kwon"
    ),
    "hispanic": _words(
        "al ben car del es fer gal her ja lor mar nav or pal que ros san tor val zam be ca do fa ga"
    ),
    "anglo_germanic": _words(
        "ash berg brad dorf ell fal gar hal har kel lang mar ner ost rad sig "
        "stein thal ulm wal wer win"
    ),
    "south_asian": _words(
        "ab an bha cha dev ga han ja kan lak man nar pra ra sha sid su ta va vi ya"
    ),
    "west_african": _words("a ba bo da de fo ko ku la ma mba na nde nko o se si ta tu wa ya za"),
}


def expand_pools(rng: random.Random, per_culture: int = 400) -> None:
    """Add invented given names and family stems to every culture's pools (in place)."""
    for culture, (given, stems, _endings) in POOLS.items():
        syllables = SYLLABLES[culture]
        made: set[str] = set(given) | set(stems)
        for target, count in ((given, per_culture // 2), (stems, per_culture)):
            added = 0
            while added < count:
                word = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 2, 3))))
                word = word.capitalize()
                if word not in made and len(word) >= 4:
                    made.add(word)
                    target.append(word)
                    added += 1


NATIONALITIES = {
    "arabic": ["SYR", "IRQ", "SAU", "EGY", "YEM", "LBY"],
    "russian": ["RUS", "BLR", "UKR", "KAZ"],
    "chinese": ["CHN"],
    "korean": ["PRK", "KOR"],
    "hispanic": ["MEX", "COL", "VEN", "ESP", "CUB"],
    "anglo_germanic": ["GBR", "USA", "DEU", "AUT"],
    "south_asian": ["IND", "PAK", "BGD", "AFG"],
    "west_african": ["MLI", "SEN", "NGA", "GHA"],
}


def generated_name(rng: random.Random, culture: str) -> str:
    given, stems, endings = POOLS[culture]
    family = rng.choice(stems) + rng.choice(endings)
    parts = [rng.choice(given)]
    if rng.random() < 0.45:
        parts.append(rng.choice(given))
    if culture in ("chinese", "korean"):
        return f"{family} {' '.join(parts)}"
    if culture == "arabic" and rng.random() < 0.5:
        parts.append(rng.choice(given))  # father's name
    return f"{' '.join(parts)} {family}"


def generated_person(rng: random.Random, number: int) -> WatchlistPerson:
    culture = rng.choice(CULTURES)
    names = [generated_name(rng, culture)]
    while rng.random() < 0.45:
        names.append(generated_name(rng, culture) if rng.random() < 0.5 else perturb(rng, names[0]))
    year = rng.randint(1940, 2000)
    if rng.random() < 0.5:
        birth = BirthDate.exact(dt.date(year, rng.randint(1, 12), rng.randint(1, 28)))
    else:
        birth = BirthDate.year(year)
    return WatchlistPerson(
        key=f"GEN-{number}",
        names=names,
        birth_dates=[birth] if rng.random() < 0.8 else [],
        nationalities=[rng.choice(NATIONALITIES[culture])] if rng.random() < 0.7 else [],
        sex=rng.choice(["M", "F", None]),
    )


def perturb(rng: random.Random, name: str) -> str:
    parts = name.split()
    kind = rng.random()
    if kind < 0.4:  # a typo in one part
        i = rng.randrange(len(parts))
        word = parts[i]
        if len(word) > 4:
            j = rng.randrange(1, len(word) - 1)
            word = word[:j] + rng.choice("aeioulnrst") + word[j + 1 :]
        parts[i] = word
    elif kind < 0.6 and len(parts) > 2:  # a dropped middle name
        del parts[rng.randrange(1, len(parts) - 1)]
    elif kind < 0.8:  # family name first
        parts = parts[-1:] + parts[:-1]
    else:
        parts = [p.upper() for p in parts]
    return " ".join(parts)


def real_people() -> Iterator[WatchlistPerson]:
    """The real UN and OFAC lists, parsed by the importers the service uses.

    Fails loudly when a list file or the parsers are missing: a bench that quietly skipped them
    would measure an index without the real lists' names (other scripts, long aliases).
    """
    sources = [
        (importers.parse_un_xml, DATA / "un_consolidated_2026-02-27.xml"),
        (importers.parse_ofac_csv, DATA / "ofac_sdn_2024-05-03.csv"),
    ]
    for parse, path in sources:
        if not path.exists():
            sys.exit(f"real list missing: {path} (use --no-real-lists to build without them)")
        yield from parse(path)


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * 4096 / 1e6


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--names", type=int, default=1_000_000)
    parser.add_argument("--applicants", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--pool", type=int, default=400, help="invented family-name stems per culture"
    )
    parser.add_argument(
        "--no-real-lists", action="store_true", help="generated people only (no UN, OFAC lists)"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    expand_pools(rng, args.pool)

    gc.collect()
    rss_before = rss_mb()
    started = time.perf_counter()
    build_cpu_started = time.process_time()
    index = WatchlistIndex()
    listed: list[WatchlistPerson] = []
    entry_id = 0
    real_count = 0
    for person in () if args.no_real_lists else real_people():
        entry_id += 1
        index.add(entry_id, person)
        real_count += 1
        if entry_id % 50 == 0:
            listed.append(person)
    real_names = index.name_count
    listed_names = 0
    gc.disable()  # the index holds no cycles: collecting during the build only costs time
    while index.name_count < args.names:
        entry_id += 1
        person = generated_person(rng, entry_id)
        index.add(entry_id, person)
        listed_names += len(person.names)
        if entry_id % 200 == 0:
            listed.append(person)
    gc.enable()
    build_seconds = time.perf_counter() - started
    build_cpu = time.process_time() - build_cpu_started
    gc.collect()
    memory = rss_mb() - rss_before

    applicants: list[tuple[Subject, str | None]] = []
    for _ in range(args.applicants):
        if rng.random() < 0.3 and listed:
            person = rng.choice(listed)
            subject = Subject(full_name=perturb(rng, rng.choice(person.names)))
            applicants.append((subject, person.key))
        else:
            culture = rng.choice(CULTURES)
            birth = BirthDate.exact(
                dt.date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
            )
            subject = Subject(
                full_name=generated_name(rng, culture),
                birth_date=birth,
                nationality=rng.choice(NATIONALITIES[culture]),
            )
            applicants.append((subject, None))

    timings = []
    # CPU time too: on a shared machine, wall time also measures the neighbours.
    cpu: list[float] = []
    hits = 0
    found = 0
    planted = 0
    total_started = time.perf_counter()
    for subject, expected in applicants:
        started = time.perf_counter()
        cpu_started = time.thread_time()
        matches = index.match(subject)
        cpu.append(time.thread_time() - cpu_started)
        timings.append(time.perf_counter() - started)
        hits += bool(matches)
        if expected is not None:
            planted += 1
            found += any(m.key == expected for m in matches)
    total = time.perf_counter() - total_started

    ms = [t * 1000 for t in timings]
    print("| measure | value |\n|---|---|")
    print(
        f"| distinct names indexed | {index.name_count:,} ({real_names:,} from real lists, "
        f"{real_count:,} real entries) |"
    )
    print(f"| entries | {len(index):,} (generated ones list {listed_names:,} names) |")
    # The build generates its people too (about a fifth of it): the same in every version.
    print(f"| build time (wall) | {build_seconds:.1f} s |")
    print(f"| build time (CPU) | {build_cpu:.1f} s |")
    print(f"| memory (RSS growth) | {memory:.0f} MB |")
    print(f"| applicants screened | {len(applicants):,} |")
    print(f"| per applicant median | {statistics.median(ms):.2f} ms |")
    print(f"| per applicant p95 | {percentile(ms, 0.95):.2f} ms |")
    print(f"| per applicant max | {max(ms):.2f} ms |")
    cpu_ms = [t * 1000 for t in cpu]
    print(f"| per applicant CPU median | {statistics.median(cpu_ms):.2f} ms |")
    print(f"| per applicant CPU p95 | {percentile(cpu_ms, 0.95):.2f} ms |")
    print(f"| applicants/s on one core | {len(applicants) / total:,.0f} |")
    print(f"| applicants with any hit | {hits:,} |")
    print(f"| perturbed listed names found | {found}/{planted} |")


def _insert_filler(count: int, rng: random.Random) -> None:
    """Add `count` earlier applications (other people, expired), as a database in service has.

    Screening's history check searches them; on a near-empty table a missing index goes unseen.
    """
    from sqlalchemy import insert

    from eta.extensions import db
    from eta.models import Application
    from tests.factories import application_fields

    table = Application.__table__
    rows = []
    for number in range(count):
        given, _, family = generated_name(rng, rng.choice(CULTURES)).partition(" ")
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(25_000))
        rows.append(
            application_fields(
                reference=f"F-{number:08d}",
                status="expired",
                given_names=given,
                surname=family or given,
                given_names_mrz=given.upper(),
                surname_mrz=(family or given).upper(),
                date_of_birth=born,
                passport_number=f"F{number:08d}",
                passport_number_normalised=f"F{number:08d}",
            )
        )
        if len(rows) == 10_000:
            db.session.execute(insert(table), rows)  # type: ignore[arg-type]
            rows = []
    if rows:
        db.session.execute(insert(table), rows)  # type: ignore[arg-type]
    db.session.commit()


def _add_faces(application_ids: list[int], seed: int) -> None:
    """Give these applications a stored photo row with a synthetic face template each.

    The photo itself is a placeholder (screening reads only the template when one is stored,
    as it is for every photo that passed the gate at submission).
    """
    import numpy as np
    from sqlalchemy import insert

    from eta.applications import photos
    from eta.extensions import db
    from eta.identity import faces, sealing, store
    from eta.models import ApplicationPhoto, FaceTemplateChange
    from tests.identity.synthetic import Population

    key = photos.settings().key
    if key is None:
        sys.exit("--faces needs a photo key (ETA_PHOTO_KEY; test mode makes one)")
    people = Population(len(application_ids), seed=seed)
    rows, changes = [], []
    for application_id, template in zip(application_ids, people.enrolled, strict=True):
        rows.append(
            {
                "application_id": application_id,
                "media_type": "image/jpeg",
                "width": 400,
                "height": 500,
                "photo_sealed": sealing.seal(key, store.PHOTO, application_id, b"placeholder"),
                "face": {},
                "quality": {},
                "template_sealed": sealing.seal(
                    key, store.TEMPLATE, application_id, np.asarray(template, "<f4").tobytes()
                ),
                "template_version": faces.TEMPLATE_VERSION,
            }
        )
        changes.append({"application_id": application_id, "added": True})
        if len(rows) == 10_000:
            db.session.execute(insert(ApplicationPhoto), rows)
            db.session.execute(insert(FaceTemplateChange), changes)
            rows, changes = [], []
    if rows:
        db.session.execute(insert(ApplicationPhoto), rows)
        db.session.execute(insert(FaceTemplateChange), changes)
    db.session.commit()


def jobs_per_second(
    count: int, profile: str | None = None, filler: int = 0, with_faces: bool = False
) -> None:
    """Screen `count` applications through the real job on one worker (own SQLite, Redis).

    Uses ETA_REDIS_URL when set (a database number of its own is not chosen: point it at an
    unused one), else an embedded Redis in a temporary folder. The real lists are imported first.
    With `filler`, that many earlier applications are in the database first. With `with_faces`,
    every application (the earlier ones too) has a face template, so the 1:N check searches the
    index (built before timing, as a running worker has it). With `profile`,
    the worker runs under cProfile and the statistics are written to that file
    (read them with `python -m pstats FILE`); profiled figures are slower than plain ones.
    """
    import os
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="eta-bench-"))
    embedded = None
    if not os.environ.get("ETA_REDIS_URL"):
        from eta.redis_connection import EmbeddedRedis

        embedded = EmbeddedRedis(base / "redis")
        os.environ["ETA_REDIS_URL"] = embedded.url
    os.environ.update(
        {
            "ETA_ENV": "test",
            "ETA_SECRET_KEY": "bench",
            # An empty database of your own (BENCH_DATABASE_URL), else a fresh SQLite file.
            "ETA_DATABASE_URL": os.environ.get("BENCH_DATABASE_URL")
            or f"sqlite:///{base / 'eta.db'}",
            "ETA_KEYS_DIR": str(base / "keys"),
        }
    )
    from flask_migrate import upgrade

    from eta import applications, create_app
    from eta.extensions import db, redis_client
    from eta.models import Application, ApplicationStatus
    from eta.outbox import enqueue
    from eta.screening import lists
    from eta.tasks import SCREENING
    from tests.factories import application_fields
    from workers.runner import make_worker

    # As `eta worker` builds it: no connection ping before each job.
    app = create_app({"ETA_DATABASE_PRE_PING": False})
    with app.app_context():
        upgrade()
        for source, fmt, name in lists.DEMO_LISTS:
            if (DATA / name).exists():
                lists.import_watchlist(
                    db.session, source=source, fmt=fmt, path=DATA / name, actor="bench"
                )
        redis = redis_client.client
        if redis.dbsize():
            # Jobs left by an earlier run (issuance is enqueued, not run, here) would send every
            # enqueue down RQ's duplicate path and skew the figures.
            sys.exit(
                f"ETA_REDIS_URL holds {redis.dbsize()} keys: point it at an empty database "
                "(redis-cli -n N flushdb)"
            )
        ids = []
        rng = random.Random(11)
        if filler:
            _insert_filler(filler, rng)
        for number in range(count):
            culture = rng.choice(CULTURES)
            given, _, family = generated_name(rng, culture).partition(" ")
            fields = application_fields(
                given_names=given,
                surname=family or given,
                given_names_mrz=given.upper(),
                surname_mrz=(family or given).upper(),
                passport_number=f"B{number:08d}",
                passport_number_normalised=f"B{number:08d}",
            )
            ids.append(applications.submit(db.session, Application(**fields)).id)
        if with_faces:
            from sqlalchemy import select

            _add_faces(list(db.session.scalars(select(Application.id).order_by(Application.id))), 3)
            import numpy as np

            from eta.applications import photos
            from eta.identity import index

            settings = photos.settings()
            if settings.key is not None:
                index.for_database(db.engine, settings.index).nearest(
                    db.engine, settings.key, np.zeros(128, "float32"), 1, excluding=-1
                )
        # Warm the per-process index as a long-running worker would have it.
        lists.active_watchlists(db.session)
        for application_id in ids:
            enqueue(
                redis,
                SCREENING,
                "workers.screening.screen_application",
                application_id,
                job_id=f"screen-{application_id}",
            )
        worker = make_worker(redis, (SCREENING,))
        import logging

        logging.getLogger("rq.worker").setLevel(logging.WARNING)
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        cpu_started = time.process_time()
        worker.work(burst=True, with_scheduler=False)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        decided = db.session.query(Application).filter(
            Application.status.in_((ApplicationStatus.APPROVED, ApplicationStatus.REFERRED))
        )
        engine = db.engine.dialect.name
        kind = type(worker).__name__
        faced = f", a face each, {count + filler:,} templates" if with_faces else ""
        print(f"\n| screening jobs (real job, {engine}, one {kind}{faced}) | value |\n|---|---|")
        print(f"| applications decided | {decided.count():,} of {count:,} |")
        # The machine is shared: the load says whether wall time waited for a core.
        print(f"| load average (1 min) at the end | {os.getloadavg()[0]:.2f} |")
        print(f"| jobs/s per worker (wall) | {count / seconds:,.0f} |")
        print(f"| jobs/s per worker (CPU time) | {count / cpu_seconds:,.0f} |")
    if embedded is not None:
        embedded.shutdown()


if __name__ == "__main__":
    if "--jobs" in sys.argv:
        profile_to = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None
        filler = int(sys.argv[sys.argv.index("--filler") + 1]) if "--filler" in sys.argv else 0
        jobs_per_second(
            int(sys.argv[sys.argv.index("--jobs") + 1]), profile_to, filler, "--faces" in sys.argv
        )
    else:
        main()
