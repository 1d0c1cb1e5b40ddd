"""Every resource type uses a stable API version (no -preview) at most two years old, from this table.

Each row names where the version is documented (the Bicep resource reference). A type whose newest
stable version is older than two years is allowed only with that said in NEWEST_STABLE_IS_OLDER.
"""

from __future__ import annotations

from datetime import date

from tests.infra.bicep import resources

REFERENCE = "https://learn.microsoft.com/azure/templates"

# type -> (api version, where it is documented)
API_VERSIONS: dict[str, tuple[str, str]] = {
    "Microsoft.App/jobs": ("2025-01-01", f"{REFERENCE}/microsoft.app/2025-01-01/jobs"),
    "Microsoft.App/managedEnvironments": ("2025-01-01", f"{REFERENCE}/microsoft.app/2025-01-01/managedenvironments"),
    "Microsoft.Authorization/roleAssignments": (
        "2022-04-01",
        f"{REFERENCE}/microsoft.authorization/2022-04-01/roleassignments",
    ),
    "Microsoft.ContainerRegistry/registries": (
        "2025-04-01",
        f"{REFERENCE}/microsoft.containerregistry/2025-04-01/registries",
    ),
    "Microsoft.DBforPostgreSQL/flexibleServers": (
        "2025-08-01",
        f"{REFERENCE}/microsoft.dbforpostgresql/2025-08-01/flexibleservers",
    ),
    "Microsoft.DBforPostgreSQL/flexibleServers/administrators": (
        "2025-08-01",
        f"{REFERENCE}/microsoft.dbforpostgresql/2025-08-01/flexibleservers/administrators",
    ),
    "Microsoft.DBforPostgreSQL/flexibleServers/configurations": (
        "2025-08-01",
        f"{REFERENCE}/microsoft.dbforpostgresql/2025-08-01/flexibleservers/configurations",
    ),
    "Microsoft.DBforPostgreSQL/flexibleServers/databases": (
        "2025-08-01",
        f"{REFERENCE}/microsoft.dbforpostgresql/2025-08-01/flexibleservers/databases",
    ),
    "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules": (
        "2025-08-01",
        f"{REFERENCE}/microsoft.dbforpostgresql/2025-08-01/flexibleservers/firewallrules",
    ),
    "Microsoft.Insights/components": ("2020-02-02", f"{REFERENCE}/microsoft.insights/2020-02-02/components"),
    "Microsoft.KeyVault/vaults": ("2025-05-01", f"{REFERENCE}/microsoft.keyvault/2025-05-01/vaults"),
    "Microsoft.KeyVault/vaults/secrets": ("2025-05-01", f"{REFERENCE}/microsoft.keyvault/2025-05-01/vaults/secrets"),
    "Microsoft.ManagedIdentity/userAssignedIdentities": (
        "2024-11-30",
        f"{REFERENCE}/microsoft.managedidentity/2024-11-30/userassignedidentities",
    ),
    "Microsoft.OperationalInsights/workspaces": (
        "2025-02-01",
        f"{REFERENCE}/microsoft.operationalinsights/2025-02-01/workspaces",
    ),
    "Microsoft.Resources/resourceGroups": ("2025-04-01", f"{REFERENCE}/microsoft.resources/2025-04-01/resourcegroups"),
    "Microsoft.Storage/storageAccounts": ("2025-01-01", f"{REFERENCE}/microsoft.storage/2025-01-01/storageaccounts"),
    "Microsoft.Storage/storageAccounts/blobServices": (
        "2025-01-01",
        f"{REFERENCE}/microsoft.storage/2025-01-01/storageaccounts/blobservices",
    ),
    "Microsoft.Storage/storageAccounts/blobServices/containers": (
        "2025-01-01",
        f"{REFERENCE}/microsoft.storage/2025-01-01/storageaccounts/blobservices/containers",
    ),
    "Microsoft.Storage/storageAccounts/queueServices": (
        "2025-01-01",
        f"{REFERENCE}/microsoft.storage/2025-01-01/storageaccounts/queueservices",
    ),
    "Microsoft.Storage/storageAccounts/queueServices/queues": (
        "2025-01-01",
        f"{REFERENCE}/microsoft.storage/2025-01-01/storageaccounts/queueservices/queues",
    ),
    "Microsoft.Web/serverfarms": ("2025-03-01", f"{REFERENCE}/microsoft.web/2025-03-01/serverfarms"),
    "Microsoft.Web/sites": ("2025-03-01", f"{REFERENCE}/microsoft.web/2025-03-01/sites"),
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": (
        "2025-03-01",
        f"{REFERENCE}/microsoft.web/2025-03-01/sites/basicpublishingcredentialspolicies",
    ),
    "Microsoft.Web/sites/config": ("2025-03-01", f"{REFERENCE}/microsoft.web/2025-03-01/sites/config-appsettings"),
}

# Types whose newest stable version is more than two years old; the reason says what is newer.
NEWEST_STABLE_IS_OLDER: dict[str, str] = {
    "Microsoft.Authorization/roleAssignments": "2022-04-01 is the newest stable; everything after it is -preview",
    "Microsoft.Insights/components": "2020-02-02 is the newest stable; later versions are -preview",
    "Microsoft.ManagedIdentity/userAssignedIdentities": (
        "2024-11-30 is the newest stable (one day past the two-year line on 2026-12-01); 2025-01-31 is -preview"
    ),
}


def _two_years_before(today: date) -> date:
    return today.replace(year=today.year - 2, day=min(today.day, 28) if today.month == 2 else today.day)


def test_every_resource_type_is_in_the_table_at_its_version() -> None:
    used = {(r.type, r.api_version) for r in resources()}
    wrong = sorted(
        f"{t}@{v} (table: {API_VERSIONS.get(t, ('none',))[0]})" for t, v in used if API_VERSIONS.get(t, ("",))[0] != v
    )
    assert wrong == [], f"API versions not in tests/infra/test_api_versions.py: {wrong}"
    unused = sorted(set(API_VERSIONS) - {t for t, _ in used})
    assert unused == [], f"table rows for types the Bicep no longer uses: {unused}"


def test_versions_are_stable_and_recent() -> None:
    oldest = _two_years_before(date.today())
    for type_, (version, doc) in API_VERSIONS.items():
        assert "preview" not in version, f"{type_}@{version} is a preview version"
        assert doc.startswith("https://learn.microsoft.com/") and version in doc, f"{type_}: cite where {version} is"
        if type_ in NEWEST_STABLE_IS_OLDER:
            continue
        assert date.fromisoformat(version) >= oldest, f"{type_}@{version} is older than {oldest}; move to a newer one"


def test_old_versions_are_allowed_only_with_a_reason() -> None:
    assert set(NEWEST_STABLE_IS_OLDER) <= set(API_VERSIONS)
    assert all(reason.strip() for reason in NEWEST_STABLE_IS_OLDER.values())
