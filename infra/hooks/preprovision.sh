#!/bin/sh
# azd preprovision hook: what main.parameters.json needs before the first `azd provision`.
# - AZURE_PRINCIPAL_NAME: the deployer's sign-in name, the PostgreSQL Entra administrator's name.
# - JWT_SIGNING_KEY, INSPECTION_LINK_SIGNING_KEY, PRICEBOOK_KEY_ENCRYPTION_KEY: generated once, kept in the azd environment
#   (.azure/<env>/.env on the deployer's machine, git-ignored) and written to Key Vault by the Bicep.
# A service principal deploying (CI) sets AZURE_PRINCIPAL_NAME and AZURE_PRINCIPAL_TYPE=ServicePrincipal itself.
set -eu

value() { azd env get-value "$1" 2>/dev/null || true; }

if [ -z "$(value AZURE_PRINCIPAL_NAME)" ]; then
  azd env set AZURE_PRINCIPAL_NAME "$(az ad signed-in-user show --query userPrincipalName --output tsv)"
fi

for name in JWT_SIGNING_KEY INSPECTION_LINK_SIGNING_KEY PRICEBOOK_KEY_ENCRYPTION_KEY; do
  if [ -z "$(value "$name")" ]; then
    azd env set "$name" "$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
    echo "generated $name (kept in the azd environment, written to Key Vault)"
  fi
done
