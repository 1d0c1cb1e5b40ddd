"""Role assignments: built-in role GUIDs only, deterministic names, and each identity gets what it needs."""

from __future__ import annotations

from pathlib import Path

from tests.infra.bicep import BICEP_DIR, parsed, resources

# Built-in roles (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BUILT_IN_ROLES: dict[str, str] = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "8a0f0c08-91a1-4084-bc3d-661d67233fed": "Storage Queue Data Message Processor",
    "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": "Storage Queue Data Message Sender",
    "19e7f33d-0c4c-4cc7-a7c2-91c5d1a4fcb2": "Storage Queue Data Reader",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
}

REQUIRED: dict[str, set[str]] = {
    "functionPrincipalId": {
        "Storage Blob Data Owner",
        "Storage Queue Data Contributor",
        "Storage Table Data Contributor",
        "Key Vault Secrets User",
        "Monitoring Metrics Publisher",
    },
    "renderPrincipalId": {
        "Storage Blob Data Contributor",
        "Storage Queue Data Message Processor",
        "Storage Queue Data Message Sender",
        "Storage Queue Data Reader",
        "AcrPull",
    },
}


def _assignments() -> list[tuple[str, str, str, dict]]:
    """(file, symbol, role name, body) of every role assignment."""
    found = []
    for r in resources():
        if r.type != "Microsoft.Authorization/roleAssignments":
            continue
        variables = parsed(BICEP_DIR / r.file)["variables"]
        role_id = r.body["properties"]["roleDefinitionId"]["function"]
        assert role_id["type"] == "subscription_resource_id", f"{r.file}:{r.symbol} names its role by id"
        assert role_id["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        variable = role_id["parameters"]["resource_name_1"]
        guid = variables[variable]["value"]
        assert guid in BUILT_IN_ROLES, f"{r.file}:{r.symbol} uses {guid}, not a built-in role of the table"
        found.append((Path(r.file).name, r.symbol, BUILT_IN_ROLES[guid], r.body))
    return found


def test_every_role_is_built_in_and_every_name_is_a_guid_of_scope_principal_and_role() -> None:
    assignments = _assignments()
    assert assignments
    for file, symbol, _role, body in assignments:
        name = body["name"]["function"]
        assert name["type"] == "guid", f"{file}:{symbol}: name must be guid(scope, principal, role)"
        arguments = list(name["parameters"].values())
        role_variable = body["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        assert len(arguments) == 3, f"{file}:{symbol}: guid(scope, principal, role)"
        assert arguments[1] == body["properties"]["principalId"], f"{file}:{symbol}: guid's principal"
        assert arguments[2] == role_variable, f"{file}:{symbol}: guid's role"


def test_each_identity_has_the_roles_it_needs() -> None:
    granted: dict[str, set[str]] = {}
    for _file, _symbol, role, body in _assignments():
        granted.setdefault(body["properties"]["principalId"], set()).add(role)
        if body["properties"]["principalId"] in REQUIRED:
            assert body["properties"]["principalType"] == "ServicePrincipal"
    for principal, roles in REQUIRED.items():
        assert roles <= granted.get(principal, set()), f"{principal} lacks {sorted(roles - granted[principal])}"
    assert "Storage Blob Data Owner" not in granted["renderPrincipalId"], "the render job needs no ownership"


def test_the_render_job_writes_only_its_own_containers() -> None:
    storage = parsed(BICEP_DIR / "modules" / "storage.bicep")
    blob_contributors = [
        r for r in resources() if r.symbol == "renderBlobContributor" and r.type.endswith("roleAssignments")
    ]
    assert len(blob_contributors) == 1
    assert "renderContainerScopes" in str(blob_contributors[0].body["scope"]), "scoped to containers, not the account"
    assert "renderContainers" in storage["parameters"]
