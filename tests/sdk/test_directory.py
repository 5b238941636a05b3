"""Users and administrative units through the SDK: update, delete, unit membership, and a
role assignment scoped to a unit."""

from __future__ import annotations

import uuid

import pytest
from msgraph.generated.models.administrative_unit import AdministrativeUnit
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.unified_role_assignment import UnifiedRoleAssignment
from msgraph.generated.models.user import User

from helpers import USER_ADMINISTRATOR


def test_user_update_and_delete(admin, run, new_user):
    user = new_user("patched")
    assert run(admin.users.by_user_id(user.id).patch(User(job_title="Operator", department="Ops"))) is None
    fetched = run(admin.users.by_user_id(user.id).get())
    assert (fetched.job_title, fetched.department) == ("Operator", "Ops")
    # By UPN too, as Graph allows.
    assert run(admin.users.by_user_id(user.user_principal_name).get()).id == user.id
    run(admin.users.by_user_id(user.id).delete())
    with pytest.raises(ODataError) as err:
        run(admin.users.by_user_id(user.id).get())
    assert err.value.response_status_code == 404
    assert err.value.error.code == "Request_ResourceNotFound"


def test_administrative_units_members_and_scoped_roles(admin, server, client_for, run, new_user):
    tag = uuid.uuid4().hex[:8]
    unit = run(admin.directory.administrative_units.post(AdministrativeUnit(display_name=f"Unit {tag}")))
    assert unit.id and unit.display_name == f"Unit {tag}"
    units = run(admin.directory.administrative_units.get())
    assert unit.id in [u.id for u in units.value]
    run(admin.directory.administrative_units.by_administrative_unit_id(unit.id).patch(
        AdministrativeUnit(description="Helpdesk scope")))
    assert run(admin.directory.administrative_units.by_administrative_unit_id(unit.id).get()).description == "Helpdesk scope"

    inside, outside, helper = new_user("inside"), new_user("outside"), new_user("unitadmin")
    members = admin.directory.administrative_units.by_administrative_unit_id(unit.id).members
    run(members.ref.post(ReferenceCreate(odata_id=f"{server.base_url}/directoryObjects/{inside.id}")))
    assert [m.id for m in run(members.get()).value] == [inside.id]

    # A User Administrator scoped to the unit manages users inside it, not outside.
    run(admin.role_management.directory.role_assignments.post(UnifiedRoleAssignment(
        principal_id=helper.id, role_definition_id=USER_ADMINISTRATOR,
        directory_scope_id=f"/administrativeUnits/{unit.id}")))
    scoped = client_for(helper.user_principal_name)
    run(scoped.users.by_user_id(inside.id).patch(User(job_title="Managed")))
    with pytest.raises(ODataError) as err:
        run(scoped.users.by_user_id(outside.id).patch(User(job_title="Nope")))
    assert err.value.response_status_code == 403

    run(members.by_directory_object_id(inside.id).ref.delete())
    assert run(members.get()).value == []
    run(admin.directory.administrative_units.by_administrative_unit_id(unit.id).delete())
    with pytest.raises(ODataError) as err:
        run(admin.directory.administrative_units.by_administrative_unit_id(unit.id).get())
    assert err.value.response_status_code == 404
