#!/bin/sh
# azd postprovision hook: the database roles and the schema, signed in as the deployer (the server's
# Microsoft Entra administrator) with an Entra token; PostgreSQL accepts no password.
#   1. opens the server's firewall to this machine for the duration of the hook;
#   2. maps the function app's managed identity to the login role tradeops_app and creates the
#      NOLOGIN migration role tradeops_migrator (infra/hooks/database_roles.py);
#   3. runs every migration as tradeops_migrator (alembic upgrade heads), so tables belong to it and
#      row-level security binds tradeops_app.
# Needs: az (signed in), the repository's .venv (make install). Outputs of main.bicep arrive as env vars.
set -eu

: "${AZURE_RESOURCE_GROUP:?}" "${POSTGRES_SERVER_NAME:?}" "${POSTGRES_HOST:?}" "${POSTGRES_DATABASE:?}"
: "${AZURE_PRINCIPAL_NAME:?}" "${APP_IDENTITY_PRINCIPAL_ID:?}"
root=$(cd "$(dirname "$0")/../.." && pwd)
python="$root/.venv/bin/python"

ip=${DEPLOYER_IP:-$(curl -fsS https://api.ipify.org)}
rule="deployer-$(date +%s)"
az postgres flexible-server firewall-rule create --resource-group "$AZURE_RESOURCE_GROUP" \
  --name "$POSTGRES_SERVER_NAME" --rule-name "$rule" --start-ip-address "$ip" --end-ip-address "$ip" --output none
trap 'az postgres flexible-server firewall-rule delete --resource-group "$AZURE_RESOURCE_GROUP" \
  --name "$POSTGRES_SERVER_NAME" --rule-name "$rule" --yes --output none' EXIT

"$python" "$root/infra/hooks/database_roles.py" --host "$POSTGRES_HOST" --database "$POSTGRES_DATABASE" \
  --admin "$AZURE_PRINCIPAL_NAME" --app-principal-id "$APP_IDENTITY_PRINCIPAL_ID"

admin=$("$python" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$AZURE_PRINCIPAL_NAME")
cd "$root"
APP_ENV=development DATABASE_AUTH=entra KEY_VAULT_URL= AZURE_CLIENT_ID= \
  DATABASE_MIGRATION_URL="postgresql+psycopg://$admin@$POSTGRES_HOST:5432/$POSTGRES_DATABASE?options=-c%20role%3Dtradeops_migrator" \
  "$python" -m alembic upgrade heads
