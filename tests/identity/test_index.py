"""The 1:N index: IVF answers as exact search does (recall@1), follows added and erased
templates through the change log, and falls back to exact search while the gallery is small."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from eta.identity import index, sealing, store
from eta.identity.index import FaceIndex, IndexSettings, SyncedIndex
from eta.models import ApplicationPhoto, FaceTemplateChange
from tests import factories
from tests.identity.synthetic import SAME_PERSON, Population, exact_nearest

KEY = bytes(range(32))


def test_ivf_recall_at_1_against_exact_search_on_20000_templates():
    people = Population(20_000, seed=1)
    ann = FaceIndex(IndexSettings(ann_from=10_000, nprobe=24))
    ann.build(range(20_000), people.enrolled)
    assert ann.approximate and len(ann) == 20_000
    asked = people.rng.choice(20_000, size=1_000, replace=False)
    probes = people.photo(asked)
    exact = exact_nearest(people.enrolled, probes)
    assert (exact == asked).mean() > 0.99  # the data is realistic: a new photo finds its mate
    found = np.array([ann.search(p, 1)[0][0] for p in probes])
    recall = (found == exact).mean()
    assert recall >= 0.99, recall
    # The distance is Euclidean (not squared), as the threshold means it.
    key, distance = ann.search(probes[0], 1)[0]
    assert distance == pytest.approx(np.linalg.norm(probes[0] - people.enrolled[key]), rel=1e-4)
    assert 0.5 * SAME_PERSON < distance < 2 * SAME_PERSON


def test_a_small_gallery_is_searched_exactly_and_grows_into_cells():
    people = Population(3_000, seed=2)
    small = FaceIndex(IndexSettings(ann_from=2_000))
    small.build(range(1_000), people.enrolled[:1_000])
    assert not small.approximate
    probes = people.photo(np.arange(1_000))
    assert [small.search(p, 1)[0][0] for p in probes] == list(
        exact_nearest(people.enrolled[:1_000], probes)
    )
    small.upsert(range(1_000, 3_000), people.enrolled[1_000:])
    assert small.needs_rebuild()


def test_removed_and_replaced_templates_are_not_found():
    people = Population(2_000, seed=3)
    for settings in (IndexSettings(ann_from=10**9), IndexSettings(ann_from=1_000, nprobe=8)):
        faces = FaceIndex(settings)
        faces.build(range(2_000), people.enrolled)
        probe = people.photo(np.array([7]))[0]
        assert faces.search(probe, 1)[0][0] == 7
        assert faces.search(probe, 3, excluding=7)[0][0] != 7
        faces.remove([7, 99999])
        assert len(faces) == 1_999 and faces.search(probe, 1)[0][0] != 7
        faces.upsert([7], people.enrolled[7:8])
        faces.upsert([7], people.enrolled[7:8])  # twice: still one template under the id
        assert len(faces) == 2_000 and faces.search(probe, 1)[0][0] == 7


def _stored(session, template: np.ndarray) -> int:
    application = factories.submitted_application(session)
    session.add(
        ApplicationPhoto(
            application_id=application.id,
            width=400,
            height=500,
            photo_sealed=sealing.seal(KEY, store.PHOTO, application.id, b"jpeg"),
            face={},
            quality={},
            template_sealed=sealing.seal(
                KEY, store.TEMPLATE, application.id, np.asarray(template, "<f4").tobytes()
            ),
            template_version=store.faces.TEMPLATE_VERSION,
        )
    )
    session.add(FaceTemplateChange(application_id=application.id, added=True))
    session.commit()
    return application.id


def test_the_index_follows_committed_templates_and_erasures(session):
    people = Population(4, seed=4)
    engine = session.get_bind()
    first = _stored(session, people.enrolled[0])
    synced = SyncedIndex(IndexSettings())
    probe = people.photo(np.array([0, 1, 2]))
    assert synced.nearest(engine, KEY, probe[0], 1, excluding=-1)[0][0] == first
    second = _stored(session, people.enrolled[1])  # after the build: read from the log
    assert synced.nearest(engine, KEY, probe[1], 1, excluding=-1)[0][0] == second
    # Not committed yet: the index does not see it (its own connection reads committed rows).
    application = factories.submitted_application(session)
    session.add(FaceTemplateChange(application_id=application.id, added=True))
    session.flush()
    assert len(synced.index) == 2
    session.rollback()
    # The retention job's erasure removes the template from every index at its next search.
    store.erase_photos(session, [first])
    session.commit()
    found = synced.nearest(engine, KEY, probe[0], 5, excluding=-1)
    assert [i for i, _ in found] == [second]
    assert (
        session.scalars(select(FaceTemplateChange.added).order_by(FaceTemplateChange.id)).all()[-1]
        is False
    )


def test_a_change_committed_late_under_a_lower_id_is_still_applied(session):
    people = Population(3, seed=5)
    engine = session.get_bind()
    first = _stored(session, people.enrolled[0])
    synced = SyncedIndex(IndexSettings())
    synced.nearest(engine, KEY, people.enrolled[0], 1, excluding=-1)
    # Ids 2 and 3 handed out; 3 commits first, 2 later (as concurrent PostgreSQL inserts can).
    late = _stored(session, people.enrolled[1])
    early = _stored(session, people.enrolled[2])
    late_change = session.scalar(
        select(FaceTemplateChange).where(FaceTemplateChange.application_id == late)
    )
    hidden_id = late_change.id
    session.delete(late_change)
    session.commit()
    assert {i for i, _ in synced.nearest(engine, KEY, people.enrolled[2], 3, excluding=-1)} == {
        first,
        early,
    }
    assert hidden_id in synced._gaps
    session.add(FaceTemplateChange(id=hidden_id, application_id=late, added=True))
    session.commit()
    assert synced.nearest(engine, KEY, people.enrolled[1], 1, excluding=-1)[0][0] == late


def test_one_index_per_database_until_forgotten(session):
    engine = session.get_bind()
    settings = IndexSettings()
    assert index.for_database(engine, settings) is index.for_database(engine, settings)
    before = index.for_database(engine, settings)
    index.forget_cached_indexes()
    assert index.for_database(engine, settings) is not before
