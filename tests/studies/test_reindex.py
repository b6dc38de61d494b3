"""``vesalius studies reindex`` completes the hierarchy from the stored headers."""

from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from tests.cli_helpers import run_cli
from tests.conftest import MakeUser, login
from tests.studies.data import make_study, upload
from vesalius.accounts.models import Role
from vesalius.context import AppContext
from vesalius.studies.models import Instance, Series, Study, StudySender


def test_reindex_rebuilds_what_the_headers_hold(
    client: TestClient, ctx: AppContext, make_user: MakeUser
) -> None:
    user = make_user(Role.clinician)
    study = make_study(per_series=(2, 1))
    upload(client, login(client, user.email), study.files)
    # What an upgrade leaves: rows without what only the headers hold, one instance missing,
    # and wrong counts.
    with ctx.db.session() as session:
        session.execute(update(Study).values(accession_number=None, number_of_instances=0))
        session.execute(update(Series).values(series_description=None))
        session.execute(delete(Instance).where(Instance.sop_instance_uid == study.sop_uids[0]))
        session.commit()

    result = run_cli(ctx.settings, ["studies", "reindex"])
    assert result.exit_code == 0, result.output
    assert "3 DICOM image(s) read: 3 in studies, 0 unreadable" in result.output

    with ctx.db.read_session() as session:
        row = session.scalars(select(Study)).one()
        assert row.accession_number == "ACC-1001"
        assert (row.number_of_series, row.number_of_instances) == (2, 3)
        assert row.modalities_in_study == "CT\\PT"
        descriptions = set(session.scalars(select(Series.series_description)))
        assert descriptions == {"CT series 1", "PT series 2"}
        assert set(session.scalars(select(StudySender.user_id))) == {user.id}

    again = run_cli(ctx.settings, ["studies", "reindex"])
    assert "3 in studies" in again.output
